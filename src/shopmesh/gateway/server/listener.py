"""The server: listening sockets, the deadline tick, and a graceful stop."""

from __future__ import annotations

import asyncio
import socket
from typing import Protocol

from shopmesh.gateway.server.batch import WriteBatch
from shopmesh.gateway.server.errors import ClientError
from shopmesh.gateway.server.exchange import Exchange
from shopmesh.gateway.server.limits import Limits
from shopmesh.gateway.server.protocol import HttpProtocol


class App(Protocol):
    """What the server runs for each request."""

    async def handle(self, exchange: Exchange) -> None:
        """Answer ``exchange`` (or abort it); must not raise."""

    def refuse(self, exchange: Exchange, error: ClientError) -> None:
        """Answer a request the server refused before the app could see it."""


class HttpServer:
    """Serves ``app`` on one or more sockets; one tick checks every connection's deadline.

    Deadlines are checked a few times per shortest timeout rather than with a
    timer per connection and phase: a request then costs no timer at all.
    """

    def __init__(self, app: App, limits: Limits) -> None:
        self.app = app
        self.limits = limits
        self.loop = asyncio.get_running_loop()
        self.batch = WriteBatch(self.loop)  # the answers of one turn, written at its end
        self.connections: set[HttpProtocol] = set()
        self.stopping = False
        self._servers: list[asyncio.Server] = []
        self._tick: asyncio.TimerHandle | None = None

    async def listen(self, host: str, port: int, *, sock: socket.socket | None = None) -> int:
        """Accept connections on ``host:port`` (or ``sock``); returns the port."""
        if sock is not None:
            server = await self.loop.create_server(lambda: HttpProtocol(self), sock=sock)
        else:
            server = await self.loop.create_server(
                lambda: HttpProtocol(self), host, port, reuse_address=True, backlog=2048
            )
        self._servers.append(server)
        if self._tick is None:
            self._tick = self.loop.call_later(self.limits.tick, self._check_deadlines)
        bound: int = server.sockets[0].getsockname()[1]
        return bound

    async def stop(self) -> None:
        """Stop accepting, close idle connections, give answers in progress a grace period."""
        self.stopping = True
        for server in self._servers:
            server.close()
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        deadline = self.loop.time() + self.limits.graceful_shutdown
        while self.connections and self.loop.time() < deadline:
            for conn in list(self.connections):
                if conn.idle:
                    conn.close()
            await asyncio.sleep(0.05)  # polling until the in-flight answers are out
        for conn in list(self.connections):
            conn.abort()
        for server in self._servers:
            await server.wait_closed()

    def _check_deadlines(self) -> None:
        now = self.loop.time()
        for conn in list(self.connections):
            conn.check_deadline(now)
        self._tick = self.loop.call_later(self.limits.tick, self._check_deadlines)
