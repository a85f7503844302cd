"""Helpers for tests: run an app (in process or on a socket), talk to it, wait for conditions."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import uvicorn

from harness.resources import free_port
from shopmesh.kit.aio import poll
from shopmesh.kit.db import Database
from shopmesh.kit.migrations import migrate
from shopmesh.kit.runner import server_config
from shopmesh.kit.settings import ServiceSettings

T = TypeVar("T")
__all__ = ["free_port"]  # from the harness, for the tests that import it from here


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
