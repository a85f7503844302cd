"""Reading requests off one client connection: httptools (llhttp), strictly bounded.

What is guaranteed before the app sees a request, or instead:

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
  completed; the connection then closes after the answer.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

import httptools

from shopmesh.gateway.server.errors import BadFraming, ClientError
from shopmesh.gateway.server.exchange import Exchange
from shopmesh.gateway.server.head import HeaderTooLarge, check_framing, split_target

if TYPE_CHECKING:
    from shopmesh.gateway.server.listener import HttpServer

# What the connection waits for from the client (each but BUSY has a deadline).
WAIT_REQUEST, WAIT_HEAD, WAIT_BODY, BUSY, LINGER = 0, 1, 2, 3, 4
_SINGLE = frozenset({b"host", b"authorization", b"content-length", b"transfer-encoding"})
_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")}
PAUSED_PIPELINE, _PAUSED_BODY = 1, 2


class _StopParsing(Exception):
    """Raised from a parser callback: what follows in the buffer is not to be read."""


class ReadingSide(asyncio.Protocol):
    """The parser, its callbacks and the bounds on what a client sends.

    Each request whose head is in goes to :meth:`_begin` (the answering side's, in
    :class:`~shopmesh.gateway.server.protocol.HttpProtocol`) or waits its turn.
    """

    def __init__(self, server: HttpServer) -> None:
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
        self._fresh = True
        self.phase = WAIT_REQUEST
        self.deadline = 0.0

    def _begin(self, exchange: Exchange) -> None:
        raise NotImplementedError  # the answering side's

    def _exchange(self) -> Exchange:
        raise NotImplementedError  # the answering side's (an exchange answers through it)

    def close(self) -> None:
        raise NotImplementedError  # the answering side's

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

    def on_message_begin(self) -> None:
        if self._done_reading:
            # Refused, or closing: bytes after the refused request (in the same read) are not
            # another request, whatever they look like.
            raise _StopParsing
        self._parsing = self._exchange()
        self._head_size = self._header_count = self._stalled = 0
        self._in_body = False
        if self._current is not None:
            self._pause(PAUSED_PIPELINE)  # one at a time: the next waits unread

    def on_url(self, url: bytes) -> None:
        exchange = self._parsing
        if exchange is not None:
            exchange.raw_path += url  # the whole target for now, split once the head is in
            limit = self.limits.max_header_bytes
            self._head_size += len(url)
            if self._head_size > limit:
                raise HeaderTooLarge(f"request header fields over {limit} bytes")

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
        exchange.method = name = _METHODS.get(method) or method.decode("ascii")
        exchange.head_request = name == "HEAD"
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

    def body_drained(self) -> None:
        self._resume(_PAUSED_BODY)

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
            exchange = self._parsing = self._exchange()
        exchange.refusal = exchange.refusal or error
        if self._current is None:
            self._begin(exchange)
        elif exchange not in self._queue:
            self._queue.append(exchange)

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
