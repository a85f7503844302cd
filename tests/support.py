"""Helpers for tests: run a service (in process or on a socket), call it as a user, look into
its database, wait for conditions. Each service's own ``support.py`` adds what is its own."""

from __future__ import annotations

import asyncio
import atexit
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import pytest
import uvicorn
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from harness.resources import free_port
from shopmesh.kit.aio import poll
from shopmesh.kit.app import Dependency, ServiceApp
from shopmesh.kit.db import Database
from shopmesh.kit.jwt import Principal, issue_token
from shopmesh.kit.migrations import migrate
from shopmesh.kit.runner import server_config
from shopmesh.kit.runtime import ServiceRuntime
from shopmesh.kit.settings import ServiceSettings

T = TypeVar("T")
S = TypeVar("S", bound=ServiceSettings)
H = TypeVar("H", bound="ServiceUnderTest")
__all__ = ["free_port"]  # from the harness, for the tests that import it from here

SECRET = "test-secret-0123456789-0123456789-abcdef"
ISSUER = "shopmesh-auth"


def make_settings(kind: type[S], database_url: str, **overrides: Any) -> S:
    """``kind`` of settings for a test: its database, no Kafka, the tests' JWT secret."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_enabled": False,
        "jwt_secret": SECRET,
        "jwt_issuer": ISSUER,
    }
    return kind(**(values | overrides))


def token_for(user_id: int, *, role: str = "user", secret: str = SECRET) -> str:
    """An access token of ``user_id`` as auth issues it (valid for an hour)."""
    principal = Principal(user_id=user_id, username=f"{role}{user_id}", role=role)
    return issue_token(principal, secret=secret, issuer=ISSUER, ttl=timedelta(hours=1))


def bearer(user_id: int, *, role: str = "user", **extra: str) -> dict[str, str]:
    """Headers of a request made by ``user_id`` (plus ``extra`` headers)."""
    return {"Authorization": f"Bearer {token_for(user_id, role=role)}", **extra}


@dataclass
class ServiceUnderTest:
    """A service app served in process: its client, settings, and a look into its database.
    Each service's support module subclasses it with the calls its tests make."""

    client: httpx.AsyncClient
    settings: ServiceSettings
    app: ServiceApp

    @property
    def runtime(self) -> ServiceRuntime:
        return self.app.runtime

    def provided(self, dependency: Dependency[T]) -> T:
        return self.app.provided(dependency)

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.runtime.db.engine.connect() as connection:
            return list((await connection.execute(text(sql), params)).all())

    async def counts(self, *tables: str) -> dict[str, int]:
        """How many rows each of ``tables`` holds (one statement: one snapshot, one round trip
        where a table each cost one, twice in every refusal test)."""
        counted = ", ".join(f"(SELECT count(*) FROM {t})" for t in tables)  # noqa: S608
        [row] = await self.rows(f"SELECT {counted}")
        return dict(zip(tables, row, strict=True))

    async def events(self) -> list[dict[str, Any]]:
        """Outbox rows in write order, the payload parsed, plus ``_topic`` and ``_key``."""
        rows = await self.rows("SELECT topic, key, payload FROM outbox_message ORDER BY id")
        return [{"_topic": r.topic, "_key": r.key, **orjson.loads(r.payload)} for r in rows]


def shared_sqlite_url(tmp_path_factory: pytest.TempPathFactory, name: str) -> str:
    """A SQLite database file for an app that a whole module's tests share."""
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp(name) / 'service.db'}"


@asynccontextmanager
async def running(kind: type[H], app: ServiceApp) -> AsyncIterator[H]:
    """``app`` served in process, as ``kind``; a fresh SQLite database starts migrated."""
    await _start_from_template(app.runtime)
    async with serve_in_process(app) as client:
        yield kind(client=client, settings=app.runtime.settings, app=app)


def _missing_sqlite_file(runtime: ServiceRuntime) -> Path | None:
    url = make_url(runtime.settings.db_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    path = Path(url.database)
    return None if path.exists() else path


_TEMPLATES: dict[str, Path] = {}
_TEMPLATE_DIR = Path(tempfile.mkdtemp(prefix="shopmesh-test-templates-"))
atexit.register(shutil.rmtree, _TEMPLATE_DIR, ignore_errors=True)


async def _start_from_template(runtime: ServiceRuntime) -> None:
    """A service's SQLite database that does not exist yet becomes a copy of one its migrations
    built once per test run: the app still migrates at start (nothing left to do), the test
    saves building the schema again. Migrations themselves are tested in test_migrations."""
    target = _missing_sqlite_file(runtime)
    if target is None or runtime.migrations is None:
        return
    template = _TEMPLATES.get(runtime.migrations)
    if template is None:
        template = _TEMPLATE_DIR / f"{len(_TEMPLATES)}.db"
        async with migrated_database(f"sqlite+aiosqlite:///{template}", runtime.migrations):
            pass
        _TEMPLATES[runtime.migrations] = template
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)


@asynccontextmanager
async def serve_in_process(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and yield an httpx client bound to it (no socket)."""
    fastapi_app = getattr(app, "fastapi", app)
    async with fastapi_app.router.lifespan_context(fastapi_app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@asynccontextmanager
async def migrated_database(url: str, migrations: str) -> AsyncIterator[Database]:
    """A :class:`Database` on ``url`` with ``migrations`` applied; closed afterwards."""
    database = Database(url)
    try:
        await migrate(database, migrations)
        yield database
    finally:
        await database.close()


async def wait_for(
    probe: Callable[[], Awaitable[T]],
    *,
    until: Callable[[T], bool] = bool,
    timeout: float = 30.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll ``probe`` until ``until(result)`` holds; fail the test with the last result."""
    try:
        return await poll(probe, until=until, timeout=timeout, interval=interval, what=what)
    except TimeoutError as exc:
        raise AssertionError(str(exc)) from None


@dataclass
class Running:
    """A uvicorn server started by :func:`serve`."""

    server: uvicorn.Server
    task: asyncio.Task[None]
    url: str
    port: int

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


async def serve(
    app: Any,
    *,
    port: int = 0,
    settings: ServiceSettings | None = None,
    graceful_shutdown: int = 5,
) -> Running:
    """Run ``app`` under uvicorn on loopback (``port`` 0: any free one) until it accepts.

    With ``settings``, under the configuration the services run with (kit.runner).
    ``graceful_shutdown`` bounds how long ``stop`` waits for a stream a test left open.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    if settings is not None:
        config = server_config(app, settings)
    else:
        config = uvicorn.Config(
            app,
            lifespan="on",
            log_config=None,
            access_log=False,
            ws="none",
            http="httptools",
            # The gateway decides itself whether to believe X-Forwarded-For (trust_forwarded).
            proxy_headers=False,
            timeout_graceful_shutdown=graceful_shutdown,
        )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during start-up")
        await asyncio.sleep(0.005)  # polling a condition, not waiting out a guess
    return Running(server, task, f"http://127.0.0.1:{port}", port)


@dataclass
class RoundTrips:
    """What a piece of code sent the database: its statements, and (on PostgreSQL) the
    driver's simple queries, such as BEGIN and COMMIT."""

    statements: list[str] = field(default_factory=list)
    simple: list[str] = field(default_factory=list)


@contextmanager
def round_trips(engine: AsyncEngine) -> Iterator[RoundTrips]:
    """Record what ``engine``'s connections send meanwhile (see :class:`RoundTrips`)."""
    sync_engine = engine.sync_engine
    seen = RoundTrips()
    drivers: list[Any] = []

    def log(query: Any) -> None:
        seen.simple.append(query.query)

    def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if sync_engine.dialect.name == "postgresql":
            drivers.append(dbapi_connection.driver_connection)
            drivers[-1].add_query_logger(log)

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.statements.append(statement)

    event.listen(sync_engine.pool, "checkout", on_checkout)
    event.listen(sync_engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(sync_engine, "before_cursor_execute", on_execute)
        event.remove(sync_engine.pool, "checkout", on_checkout)
        for driver in drivers:
            driver.remove_query_logger(log)
