"""Helpers for the gateway tests: servers on real sockets, unique names."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import uvicorn

from shopmesh.kit.http import ASGIApp

StartGateway = Callable[..., Awaitable[str]]
MakeToken = Callable[..., str]


@dataclass
class Running:
    """A uvicorn server started by a fixture."""

    server: uvicorn.Server
    task: asyncio.Task[None]
    url: str

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


async def serve(app: ASGIApp) -> Running:
    """Run ``app`` under uvicorn on an ephemeral loopback port until it is accepting."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_config=None,
        access_log=False,
        ws="none",
        http="httptools",
        # The gateway decides itself whether to believe X-Forwarded-For (trust_forwarded).
        proxy_headers=False,
        timeout_graceful_shutdown=5,  # a test that left a stream open must not hang the run
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during start-up")
        await asyncio.sleep(0.005)  # polling a condition, not waiting out a guess
    return Running(server, task, f"http://127.0.0.1:{port}")


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def unique() -> str:
    """A path segment no other test uses."""
    return uuid.uuid4().hex[:12]
