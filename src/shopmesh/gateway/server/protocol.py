"""One client connection: HTTP/1.1 parsed with httptools (llhttp), strictly bounded.

What the protocol guarantees before the app sees a request, or instead:

- a complete, valid head: llhttp refuses malformed framing (CL with TE, two
  Content-Lengths, obs-fold, bare CR or LF, NUL, bad chunk sizes); on top of
  it, more than one ``Host``, ``Authorization``, ``Content-Length`` or
  ``Transfer-Encoding``, an HTTP/1.1 request without ``Host``, a transfer
  coding other than ``chunked`` and ``CONNECT`` are refused with 400;
- the head arrives within ``header_timeout`` (else 408), is at most
  ``max_header_bytes`` with at most ``max_headers`` fields (else 431);
- trailers are dropped, never merged into the headers;
- a body that breaks off (bad framing, too large, too slow, the client gone)
  fails the app's read of it, so what was forwarded of it is cut off, never
  completed; the connection then closes after the answer;
- idle kept-alive connections close after ``keepalive_timeout``;
- pipelined requests are answered in order, one at a time.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, cast

import httptools

from shopmesh.gateway.server.errors import BadFraming, ClientError, ClientTimeout
from shopmesh.gateway.server.exchange import Exchange
from shopmesh.gateway.server.head import HeaderTooLarge, check_framing, split_target

if TYPE_CHECKING:
    from shopmesh.gateway.server.listener import HttpServer

# What the connection waits for from the client (each but BUSY has a deadline).
WAIT_REQUEST, WAIT_HEAD, WAIT_BODY, BUSY, LINGER = 0, 1, 2, 3, 4
# After an answer to a request that was not read to its end, the rest is read and dropped
# for this long before the connection closes: closing with unread data would reset the
# connection, and the client could lose the answer (nginx's lingering close).
LINGER_SECONDS = 2.0
_SINGLE = frozenset({b"host", b"authorization", b"content-length", b"transfer-encoding"})
_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")}
_PAUSED_PIPELINE, _PAUSED_BODY = 1, 2


class _StopParsing(Exception):
    """Raised from a parser callback: what follows in the buffer is not to be read."""


class HttpProtocol(asyncio.Protocol):
    """Parses requests off one connection, runs the app on each, writes the answers."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.app = server.app
        self.limits = server.limits
        self.loop = server.loop
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._peer = ""
        self._parsing: Exchange | None = None  # the request the parser is in
        self._current: Exchange | None = None  # the request being answered
        self._queue: deque[Exchange] = deque()  # pipelined requests waiting their turn
        self._head_size = self._header_count = self._head_fed = self._stalled = 0
        self._in_body = self._progress = self._done_reading = False
        self._paused = 0
        self._write_paused = False
        self._drained: asyncio.Future[None] | None = None
        self.phase = WAIT_REQUEST
        self.deadline = 0.0
        self._fresh = True
        # The task that runs the app on this connection's requests (see _work).
        self._working = False
        self._handoff: Exchange | None = None
        self._next: asyncio.Future[Exchange | None] | None = None

    # asyncio.Protocol

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

    def data_received(self, data: bytes) -> None:
        if self._done_reading:
            return  # a lingering close drops what still comes
        if self.phase == WAIT_REQUEST:
            self.phase = WAIT_HEAD
            if not self._fresh:  # a new connection's first head is timed from the accept
                self.deadline = self.loop.time() + self.limits.header_timeout
        in_body = self._in_body
        if not in_body:
            self._head_fed += len(data)
        self._progress = False
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._stop_reading()  # what follows is another protocol: answer this one, then close
        except httptools.HttpParserError as exc:
            if not self._done_reading:
                self._broken(exc)
            return
        if self._parsing is None:
            return
        if not self._in_body:
            if self._head_fed > self.limits.max_header_bytes:
                self._refuse_parsing(HeaderTooLarge("request header fields too large"))
        elif in_body:
            # Bytes that moved no body along (trailers, chunk extensions) are bounded like a head.
            self._stalled = 0 if self._progress else self._stalled + len(data)
            if self._stalled > self.limits.max_header_bytes:
                self._broken_body(HeaderTooLarge("request trailer fields too large"))

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_result(None)

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self._done_reading:
            # Refused, or closing: bytes after the refused request (in the same read) are not
            # another request, whatever they look like.
            raise _StopParsing
        self._parsing = Exchange(self, self._peer)
        self._head_size = self._header_count = self._stalled = 0
        self._in_body = False
        if self._current is not None:
            self._pause(_PAUSED_PIPELINE)  # one at a time: the next waits unread

    def on_url(self, url: bytes) -> None:
        exchange = self._parsing
        if exchange is not None:
            exchange.raw_path += url  # the whole target for now, split once the head is in
            self._count(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        size = self._head_size = self._head_size + len(name) + len(value) + 4
        if size > self.limits.max_header_bytes:
            raise HeaderTooLarge(f"request header fields over {self.limits.max_header_bytes} bytes")
        exchange = self._parsing
        if exchange is None or self._in_body:
            return  # a trailer: dropped, never a header
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            raise HeaderTooLarge(f"more than {self.limits.max_headers} header fields")
        name = name.lower()
        exchange.headers.append((name, value))
        fields = exchange.fields
        if name not in fields:
            fields[name] = value
        elif name in _SINGLE and exchange.refusal is None:
            exchange.refusal = BadFraming(f"more than one {name.decode()} header")

    def on_headers_complete(self) -> None:
        exchange = self._parsing
        if exchange is None:
            return
        self._in_body = True
        parser = self._parser
        method = parser.get_method()
        exchange.method = _METHODS.get(method) or method.decode("ascii")
        exchange.version = parser.get_http_version()
        exchange.keep_alive = parser.should_keep_alive()
        exchange.upgrade = parser.should_upgrade()
        if exchange.refusal is None:
            exchange.refusal = split_target(exchange) or check_framing(exchange)
        if exchange.body_expected:
            self.phase, self.deadline = WAIT_BODY, self.loop.time() + self.limits.body_timeout
        else:
            self.phase = BUSY
        if self._current is None:
            self._begin(exchange)
        else:
            self._queue.append(exchange)

    def on_body(self, body: bytes) -> None:
        self._progress = True
        exchange = self._parsing
        if exchange is not None and exchange.feed(body):
            self._pause(_PAUSED_BODY)

    def on_chunk_header(self) -> None:
        self._progress = True

    def on_message_complete(self) -> None:
        exchange, self._parsing = self._parsing, None
        self._head_fed = 0
        self._in_body = False
        self.phase = BUSY
        if exchange is not None:
            exchange.complete_body()

    # Used by the exchanges

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

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
                self._resume(_PAUSED_PIPELINE)
            return
        if self._parsing is not None:  # the next head is arriving
            self.phase, self.deadline = WAIT_HEAD, self.loop.time() + self.limits.header_timeout
        else:
            self.phase, self.deadline = (
                WAIT_REQUEST,
                self.loop.time() + self.limits.keepalive_timeout,
            )
        self._resume(_PAUSED_PIPELINE)

    def body_drained(self) -> None:
        self._resume(_PAUSED_BODY)

    def abort(self) -> None:
        self._current = None
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    @property
    def idle(self) -> bool:
        """No request in progress: the connection can be closed without losing an answer."""
        return self._current is None and self._parsing is None and not self._queue

    # Deadlines (checked by the server every tick)

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

    # Internals

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

    def _count(self, size: int) -> None:
        self._head_size += size
        if self._head_size > self.limits.max_header_bytes:
            raise HeaderTooLarge(f"request header fields over {self.limits.max_header_bytes} bytes")

    def _broken(self, exc: Exception) -> None:
        """The parser refused what came: fail the body in progress, or refuse the head."""
        cause = exc.__context__
        error = cause if isinstance(cause, ClientError) else BadFraming(f"malformed request: {exc}")
        if self._in_body:
            self._broken_body(error)
        else:
            self._refuse_parsing(error)

    def _broken_body(self, error: ClientError) -> None:
        self._stop_reading()
        exchange = self._parsing
        if exchange is None:
            return
        if exchange is self._current:
            exchange.fail_body(error)  # the app's read fails: what it forwarded is cut off
            if exchange.finished:
                self.close()
        else:
            exchange.refusal = exchange.refusal or error  # queued: answered in its turn

    def _refuse_parsing(self, error: ClientError) -> None:
        self._stop_reading()
        exchange = self._parsing
        if exchange is None:
            exchange = self._parsing = Exchange(self, self._peer)
        exchange.refusal = exchange.refusal or error
        if self._current is None:
            self._begin(exchange)
        elif exchange not in self._queue:
            self._queue.append(exchange)

    def _close_after_answer(self, exchange: Exchange) -> None:
        transport = self.transport
        assert transport is not None
        unread = self._parsing is not None or not exchange.body_complete
        if not unread or not transport.can_write_eof():
            transport.close()  # after what is written
            return
        transport.write_eof()  # the answer is out; the client's close ends it
        self._done_reading = True
        self._paused = 0
        self.phase, self.deadline = LINGER, self.loop.time() + LINGER_SECONDS
        transport.resume_reading()

    def _stop_reading(self) -> None:
        self._done_reading = True
        self.phase = BUSY
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def _pause(self, reason: int) -> None:
        if not self._paused and self.transport is not None:
            self.transport.pause_reading()
        self._paused |= reason

    def _resume(self, reason: int) -> None:
        if not self._paused & reason:
            return
        self._paused &= ~reason
        if self._paused or self._done_reading or self.transport is None:
            return
        self.transport.resume_reading()
        # The time the gateway was not reading is not the client's.
        if self.phase == WAIT_HEAD:
            self.deadline = self.loop.time() + self.limits.header_timeout
        elif self.phase == WAIT_BODY:
            self.deadline = self.loop.time() + self.limits.body_timeout
