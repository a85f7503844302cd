"""The whole platform as real processes on PostgreSQL and Kafka, on free ports.

Used by the system tests and by the benchmark, so both start the services
exactly as `make up` does (the :class:`~shopmesh.launcher.Launcher`), but
with one fresh PostgreSQL database per service and the platform's topics
emptied first, so a run never sees an earlier run's data or events.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

from shopmesh.launcher import SERVICES, Launcher, RunningService, ServiceSpec

PLATFORM_TOPICS = ("transactions", "user-events", "order-events")


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_dsn(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+asyncpg://``) as a plain libpq DSN for asyncpg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def database_url(admin_url: str, database: str) -> str:
    """``admin_url`` pointing at another database of the same server."""
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


async def reset_topics(bootstrap: str, topics: Iterable[str] = PLATFORM_TOPICS) -> None:
    """Delete ``topics`` and their dead-letter topics (the services recreate them)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [t for base in topics for t in (base, f"{base}.dlq") if t in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


@dataclass(frozen=True)
class Credentials:
    """The secrets a disposable platform runs with (never production values)."""

    jwt_secret: str
    registry_token: str
    admin: tuple[str, str]


def platform_environment(
    *,
    database_template: str,
    kafka_bootstrap: str,
    urls: Mapping[str, str],
    credentials: Credentials,
) -> dict[str, str]:
    """The environment every service of one platform shares.

    ``database_template`` holds ``{service}``; ``urls`` maps service names to
    their base URLs (the registry's and the web UI's included when started).
    """
    backends = {n: u for n, u in urls.items() if n not in {"gateway", "web"}}
    env = {
        "SHOPMESH_DATABASE_URL_TEMPLATE": database_template,
        "SHOPMESH_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "SHOPMESH_JWT_SECRET": credentials.jwt_secret,
        "SHOPMESH_ADMIN_USERNAME": credentials.admin[0],
        "SHOPMESH_ADMIN_PASSWORD": credentials.admin[1],
        "SHOPMESH_OUTBOX_POLL_INTERVAL": "0.1",
        "SHOPMESH_SERVICE_URLS": json.dumps(backends),
        "SHOPMESH_REGISTRY_TOKEN": credentials.registry_token,
        "SHOPMESH_REGISTRY_HEARTBEAT_INTERVAL": "1",
        "REGISTRY_TTL": "4",
        "GATEWAY_UPSTREAMS": json.dumps({n: [u] for n, u in backends.items()}),
    }
    if "registry" in urls:
        env["SHOPMESH_REGISTRY_URL"] = urls["registry"]
    if "web" in urls:
        env["GATEWAY_CORS_ORIGINS"] = urls["web"]
        env["WEB_API_BASE"] = urls["gateway"]
    return env


@dataclass
class LocalPlatform:
    """Every service of ``specs`` started on free ports against one PostgreSQL server.

    Build it with :meth:`start`; :meth:`stop` stops every process it started
    (by pid) and drops its databases.
    """

    admin_url: str
    prefix: str
    launcher: Launcher
    urls: dict[str, str]
    env: dict[str, str]
    specs: tuple[ServiceSpec, ...]
    running: dict[str, RunningService] = field(default_factory=dict)

    @classmethod
    def prepare(
        cls,
        *,
        state_dir: Path,
        admin_url: str,
        kafka_bootstrap: str,
        prefix: str,
        credentials: Credentials,
        specs: Iterable[ServiceSpec] = SERVICES,
    ) -> LocalPlatform:
        """Choose ports and build the environment; nothing is started yet."""
        chosen = tuple(specs)
        urls = {spec.name: f"http://127.0.0.1:{free_port()}" for spec in chosen}
        server = make_url(admin_url).set(database="").render_as_string(hide_password=False)
        # Built as text: rendering a URL would percent-encode the template's braces.
        template = f"{server.rstrip('/')}/{prefix}_{{service}}"
        env = platform_environment(
            database_template=template,
            kafka_bootstrap=kafka_bootstrap,
            urls=urls,
            credentials=credentials,
        )
        return cls(admin_url, prefix, Launcher(state_dir), urls, env, chosen)

    @property
    def gateway(self) -> str:
        return self.urls["gateway"]

    @property
    def database_urls(self) -> dict[str, str]:
        """Each service's own database (services with one only)."""
        return {s.name: self.database_url(s.name) for s in self.specs if s.database}

    def database_url(self, service: str) -> str:
        return database_url(self.admin_url, f"{self.prefix}_{service}")

    async def create_databases(self) -> None:
        """One empty database per service that has one."""
        connection = await asyncpg.connect(postgres_dsn(self.admin_url), timeout=10)
        try:
            for spec in self.specs:
                if spec.database:
                    await connection.execute(f'CREATE DATABASE "{self.prefix}_{spec.name}"')
        finally:
            await connection.close()

    async def drop_databases(self) -> None:
        connection = await asyncpg.connect(postgres_dsn(self.admin_url), timeout=10)
        try:
            for spec in self.specs:
                if spec.database:
                    await connection.execute(
                        f'DROP DATABASE IF EXISTS "{self.prefix}_{spec.name}" WITH (FORCE)'
                    )
        finally:
            await connection.close()

    def start_service(self, name: str) -> RunningService:
        """Start (or restart) the process of service ``name`` on its chosen port."""
        spec = next(s for s in self.specs if s.name == name)
        port = int(self.urls[name].rsplit(":", 1)[1])
        running = self.running[name] = self.launcher.start(spec, env=self.env, port=port)
        return running

    def stop_service(self, name: str) -> None:
        spec = next(s for s in self.specs if s.name == name)
        self.launcher.stop(spec)
        self.running.pop(name, None)

    def start_instance(self, name: str, instance: str) -> RunningService:
        """Start one more process of service ``name`` on a free port."""
        spec = next(s for s in self.specs if s.name == name)
        extra = ServiceSpec(spec.name, spec.port, instance=instance, database=spec.database)
        return self.launcher.start(extra, env=self.env, port=free_port())

    async def start(self, *, timeout: float = 120.0) -> dict[str, bool]:
        """Start every service and wait for readiness; returns who became ready."""
        for spec in self.specs:
            self.start_service(spec.name)
        return await self.launcher.wait_ready(self.running.values(), timeout=timeout)

    def logs_tail(self, chars: int = 3000) -> dict[str, str]:
        """The end of each service's log, for a failure message."""
        tails = {}
        for name in self.running:
            try:
                tails[name] = (self.launcher.log_dir / f"{name}.log").read_text()[-chars:]
            except OSError:
                tails[name] = "(no log)"
        return tails

    def stop(self) -> list[str]:
        """Stop every process this platform started (extra instances included)."""
        stopped = self.launcher.stop_all(self.launcher.started())
        self.running.clear()
        return stopped
