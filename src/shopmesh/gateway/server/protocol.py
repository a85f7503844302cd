"""One client connection: requests read by :class:`ReadingSide`, answered here.

Answers go out in order, one request at a time, from one task per connection;
idle kept-alive connections close after ``keepalive_timeout``; an answer to a
request that was not read to its end closes the connection lingering.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

from shopmesh.gateway.server.errors import ClientTimeout
from shopmesh.gateway.server.exchange import Exchange
from shopmesh.gateway.server.reading import (
    BUSY,
    LINGER,
    PAUSED_PIPELINE,
    WAIT_HEAD,
    WAIT_REQUEST,
    ReadingSide,
)

if TYPE_CHECKING:
    from shopmesh.gateway.server.listener import HttpServer

# After an answer to a request that was not read to its end, the rest is read and dropped
# for this long before the connection closes: closing with unread data would reset the
# connection, and the client could lose the answer (nginx's lingering close).
LINGER_SECONDS = 2.0


class HttpProtocol(ReadingSide):
    """Parses requests off one connection, runs the app on each, writes the answers."""

    def __init__(self, server: HttpServer) -> None:
        super().__init__(server)
        self.server = server
        self.app = server.app
        self._batch = server.batch
        self._write_paused = False
        self._drained: asyncio.Future[None] | None = None
        # The task that runs the app on this connection's requests (see _work).
        self._working = False
        self._handoff: Exchange | None = None
        self._next: asyncio.Future[Exchange | None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self._peer = str(peer[0]) if peer else ""
        self.deadline = self.loop.time() + self.limits.header_timeout
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.transport = None
        self.phase = BUSY
        for exchange in (self._current, self._parsing, *self._queue):
            if exchange is not None and not exchange.finished:
                exchange.gone()
        self._queue.clear()
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_result(None)
        waiting = self._next
        if waiting is not None and not waiting.done():
            waiting.set_result(None)  # the worker ends

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_result(None)

    def write(self, data: bytes) -> None:
        """Send ``data`` at the end of this turn of the loop (see :mod:`.batch`)."""
        if self.transport is not None:
            self._batch.write(self.transport, data)

    async def drain(self) -> None:
        if self._write_paused and self.transport is not None:
            self._drained = self.loop.create_future()
            try:
                await self._drained
            finally:
                self._drained = None

    def must_close(self, exchange: Exchange) -> bool:
        """Whether the connection ends after this answer."""
        return (
            exchange.close_after
            or not exchange.keep_alive
            or exchange.upgrade
            or not exchange.body_complete
            or (self._done_reading and not self._queue)
            or self.server.stopping
        )

    def exchange_done(self, exchange: Exchange, *, close: bool) -> None:
        if exchange is not self._current:
            return
        self._current = None
        transport = self.transport
        if close or transport is None:
            if transport is not None:
                self._close_after_answer(exchange)
            return
        self._fresh = False
        if self._queue:
            self._begin(self._queue.popleft())
            if not self._queue:
                self._resume(PAUSED_PIPELINE)
            return
        if self._parsing is not None:  # the next head is arriving
            self.phase, self.deadline = WAIT_HEAD, self.loop.time() + self.limits.header_timeout
        else:
            self.phase, self.deadline = (
                WAIT_REQUEST,
                self.loop.time() + self.limits.keepalive_timeout,
            )
        if self._paused:
            self._resume(PAUSED_PIPELINE)

    def abort(self) -> None:
        self._current = None
        if self.transport is not None:
            self.transport.abort()  # what is held for it is never sent

    def close(self) -> None:
        if self.transport is not None:
            self._batch.flush()  # what the answers wrote goes out before the close
            self.transport.close()

    @property
    def idle(self) -> bool:
        """No request in progress: the connection can be closed without losing an answer."""
        return self._current is None and self._parsing is None and not self._queue

    def check_deadline(self, now: float) -> None:
        if self.phase == BUSY or self._paused or now < self.deadline:
            return
        if self.phase == LINGER:
            self.abort()
        elif self.phase == WAIT_REQUEST or self._parsing is None:
            self.close()  # idle: nothing was asked, so nothing is answered
        elif self.phase == WAIT_HEAD:
            self._refuse_parsing(ClientTimeout("the request head took too long"))
        else:
            self._broken_body(ClientTimeout("the request body took too long"))

    def _begin(self, exchange: Exchange) -> None:
        self._current = exchange
        if exchange.refusal is not None:
            # Where this request's body ends is unknown, or it was never read whole.
            exchange.keep_alive = False
            self._stop_reading()
            self.app.refuse(exchange, exchange.refusal)
        elif self._next is not None:
            waiting, self._next = self._next, None
            waiting.set_result(exchange)
        elif self._working:
            self._handoff = exchange  # the worker is finishing the previous one
        else:
            self._working = True
            self.loop.create_task(self._work(exchange))

    async def _work(self, exchange: Exchange | None) -> None:
        """Run the app on this connection's requests, one after the other, in one task.

        A task per request would cost more than much of the rest of the server's
        work for it (creating and registering the task, copying the context).
        """
        try:
            while exchange is not None:
                await self.app.handle(exchange)
                exchange, self._handoff = self._handoff, None
                if exchange is None and self.transport is not None:
                    waiting = self._next = self.loop.create_future()
                    exchange = await waiting
        finally:
            self._working = False
            self._next = None

    def _close_after_answer(self, exchange: Exchange) -> None:
        transport = self.transport
        assert transport is not None
        self._batch.flush()  # the answer goes out before the close (or the EOF)
        unread = self._parsing is not None or not exchange.body_complete
        if not unread or not transport.can_write_eof():
            transport.close()  # after what is written
            return
        transport.write_eof()  # the answer is out; the client's close ends it
        self._done_reading = True
        self._paused = 0
        self.phase, self.deadline = LINGER, self.loop.time() + LINGER_SECONDS
        transport.resume_reading()

    def _exchange(self) -> Exchange:
        return Exchange(self, self._peer)
