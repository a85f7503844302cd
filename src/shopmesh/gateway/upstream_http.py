"""The proxy's HTTP/1.1 client: pooled keep-alive connections on asyncio protocols.

The gateway forwards every request of the platform, so its client does only
what a proxy needs: write the request head (and body) in one go, parse the
answer with httptools (the C parser uvicorn uses), hand small answers over
whole and large ones chunk by chunk. aiohttp's client, which the proxy used
before, spent more CPU per request than the rest of the gateway together.

What the proxy relies on:

- ``ConnectFailed``: no connection could be made, so nothing reached the
  instance (safe to try another one).
- ``Disconnected``: the connection closed before the answer was complete;
  ``Response``-less when it broke before any answer.
- ``UpstreamTimeout`` (a ``TimeoutError``): the upstream stayed silent for
  longer than the read timeout, before or during the answer.
- A connection goes back to the pool only when its answer was read to the end,
  the request was written whole and the upstream keeps it alive; pooled
  connections idle longer than ``keepalive`` (below the backends' own idle
  timeout) are closed instead of reused.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

RawHeaders = list[tuple[bytes, bytes]]
Body = bytes | AsyncIterable[bytes] | None

# Reading from an upstream pauses while this much of its answer waits for a slow client.
_HIGH_WATER = 256 * 1024
_LOW_WATER = 64 * 1024
_CHUNKED_END = b"0\r\n\r\n"


class UpstreamError(Exception):
    """The exchange with an upstream instance failed."""


class ConnectFailed(UpstreamError):
    """No connection could be made: nothing reached the instance."""


class Disconnected(UpstreamError):
    """The upstream closed the connection before its answer was complete."""


class BadResponse(UpstreamError):
    """The upstream's answer is not valid HTTP/1.1."""


class UpstreamTimeout(UpstreamError, TimeoutError):
    """The upstream stayed silent for longer than the read timeout."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an instance listens: ``http://host:port``."""

    host: str
    port: int
    host_header: bytes

    @classmethod
    def parse(cls, base: str) -> Origin:
        parts = urlsplit(base)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream {base!r} is not an http://host:port address")
        port = parts.port or 80
        return cls(parts.hostname, port, parts.netloc.encode("idna"))


class Response:
    """An upstream's answer: status and headers at once, the body as it arrives."""

    __slots__ = (
        "_buffered",
        "_chunks",
        "_conn",
        "_done",
        "_error",
        "_waiter",
        "content_length",
        "headers",
        "status",
    )

    def __init__(
        self, conn: _Connection, status: int, headers: RawHeaders, content_length: int | None
    ) -> None:
        self.status = status
        self.headers = headers  # as received (names in their original case), in order
        self.content_length = content_length
        self._conn: _Connection | None = conn
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._done = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    @property
    def media_type(self) -> bytes:
        """The Content-Type without its parameters, lower-cased (``b""`` when absent)."""
        for name, value in self.headers:
            if name.lower() == b"content-type":
                return value.split(b";", 1)[0].strip().lower()
        return b""

    async def read(self) -> bytes:
        """The whole body."""
        while not self._done:
            await self._wait()
        self._raise_if_failed()
        chunks, self._chunks = self._chunks, deque()
        return b"".join(chunks)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body in the pieces it arrives in (joined when several are waiting)."""
        while True:
            if self._chunks:
                chunks, self._chunks = self._chunks, deque()
                self._buffered = 0
                conn = self._conn
                if conn is not None:
                    conn.resume_reading()
                yield chunks[0] if len(chunks) == 1 else b"".join(chunks)
            elif self._done:
                self._raise_if_failed()
                return
            else:
                await self._wait()

    def set_read_timeout(self, seconds: float) -> None:
        """Bound the silence between two chunks by ``seconds`` from now on (event streams)."""
        if self._conn is not None:
            self._conn.arm_timer(seconds)

    def close(self) -> None:
        """Give up on the rest of the body: the connection is closed, not reused."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.abort()
        if not self._done:
            self._fail(Disconnected("the answer was abandoned"))

    # Called by the connection.

    def _feed(self, chunk: bytes) -> bool:
        """Buffer a piece of body; True when the reader is far behind (pause reading)."""
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        self._wake()
        return self._buffered > _HIGH_WATER

    def _finish(self) -> None:
        self._done = True
        self._conn = None
        self._wake()

    def _fail(self, error: BaseException) -> None:
        if not self._done:
            self._error = error
            self._done = True
            self._conn = None
            self._wake()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    async def _wait(self) -> None:
        conn = self._conn
        assert conn is not None  # attached until the answer is done
        waiter = self._waiter = conn.loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Connection(asyncio.Protocol):
    """One keep-alive connection to an instance; one exchange at a time."""

    def __init__(self, client: UpstreamClient, origin: Origin) -> None:
        self._client = client
        self.origin = origin
        self.loop = client.loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        # The exchange in progress.
        self._head: asyncio.Future[Response] | None = None
        self._response: Response | None = None
        self._headers: RawHeaders = []
        self._interim = False
        self._head_request = False
        self._request_written = False
        self._answer_done = False
        self._keep = False
        # Write flow control.
        self._write_paused = False
        self._drained: asyncio.Future[None] | None = None
        self._reading_paused = False
        # The read timeout: one timer per exchange, re-armed lazily from the last read.
        self._read_timeout = 0.0
        self._last_read = 0.0
        self._timer: asyncio.TimerHandle | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport but have its methods.
        self._transport = cast(asyncio.Transport, transport)
        self._client.opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        self._client.lost(self)
        head, response = self._head, self._response
        if head is not None and not head.done():
            head.set_exception(Disconnected("the upstream closed the connection before answering"))
        elif response is not None and not response._done:
            if self._delimited_by_close():
                response._finish()
            else:
                response._fail(Disconnected("the upstream closed the connection mid-answer"))
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_exception(Disconnected("the upstream closed the connection"))

    def data_received(self, data: bytes) -> None:
        self._last_read = self.loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(BadResponse(f"invalid answer from the upstream: {exc}"))

    def eof_received(self) -> bool | None:
        return None  # close the transport: connection_lost settles the exchange

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_result(None)

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:
            self._interim = True  # 1xx: the real answer follows
            return
        response = self._response = Response(
            self, status, self._headers, _content_length(self._headers)
        )
        head = self._head
        if head is not None and not head.done():
            head.set_result(response)
        if self._head_request:
            # The parser cannot be told a HEAD answer has no body: end it here, never reuse.
            response._finish()
            self._answer_done = True
            self.abort()

    def on_body(self, chunk: bytes) -> None:
        response = self._response
        if response is not None and response._feed(chunk) and self._transport is not None:
            self._reading_paused = True
            self._transport.pause_reading()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        response = self._response
        self._cancel_timer()
        self._keep = self._parser.should_keep_alive()
        if response is not None:
            response._finish()
        self._response = None
        self._head = None
        self._answer_done = True
        self._settle()

    # Used by the client and the response

    def begin(self, *, head_request: bool, read_timeout: float) -> asyncio.Future[Response]:
        """Start an exchange: the future resolves with the answer's head."""
        self._head = self.loop.create_future()
        self._response = None
        self._interim = False
        self._head_request = head_request
        self._request_written = False
        self._answer_done = False
        self._keep = False
        self.arm_timer(read_timeout)
        return self._head

    def write(self, data: bytes) -> None:
        if self.closed or self._transport is None:
            raise Disconnected("the upstream closed the connection")
        self._transport.write(data)

    async def drain(self) -> None:
        if self._write_paused and not self.closed:
            self._drained = self.loop.create_future()
            try:
                await self._drained
            finally:
                self._drained = None

    def written(self, *, whole: bool) -> None:
        """The request is out; unless ``whole``, the connection is closed after the answer."""
        self._request_written = True
        if not whole:
            self._keep = False
        self._settle()

    @property
    def answered(self) -> bool:
        return self._head is None or self._head.done()

    def arm_timer(self, seconds: float) -> None:
        self._cancel_timer()
        self._read_timeout = seconds
        self._last_read = self.loop.time()
        self._timer = self.loop.call_at(self._last_read + seconds, self._on_timer)

    def resume_reading(self) -> None:
        if self._reading_paused and self._transport is not None:
            self._reading_paused = False
            self._transport.resume_reading()

    def abort(self) -> None:
        self._keep = False
        if self._transport is not None and not self.closed:
            self._transport.abort()

    # Internals

    def _settle(self) -> None:
        # Called when the answer ends and when the request is out: acts once both happened.
        if not (self._answer_done and self._request_written):
            return
        if self._keep and not self.closed:
            self._client.release(self)
        else:
            self.abort()

    def _on_timer(self) -> None:
        self._timer = None
        due = self._last_read + self._read_timeout
        now = self.loop.time()
        if self._reading_paused or now < due:
            # Data came since (or we stopped reading ourselves): look again later.
            self._timer = self.loop.call_at(max(due, now + self._read_timeout), self._on_timer)
            return
        self._fail(UpstreamTimeout(f"no answer within {self._read_timeout:g} s"))

    def _fail(self, error: UpstreamError) -> None:
        head, response = self._head, self._response
        if head is not None and not head.done():
            head.set_exception(error)
        elif response is not None:
            response._fail(error)
        self.abort()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _delimited_by_close(self) -> bool:
        # An HTTP/1.0-style answer without Content-Length or chunking ends with the connection.
        response = self._response
        if response is None or response.content_length is not None:
            return False
        return not any(
            name.lower() == b"transfer-encoding" and b"chunked" in value.lower()
            for name, value in response.headers
        )


def _content_length(headers: RawHeaders) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class UpstreamClient:
    """Keep-alive connection pools per instance, at most ``limit`` connections in all.

    Made inside the event loop it serves (``asyncio.get_running_loop`` costs a
    system call per call in Python 3.11, so the loop is looked up once).
    """

    def __init__(self, *, limit: int, keepalive: float, connect_timeout: float) -> None:
        self.loop = asyncio.get_running_loop()
        self._limit = limit
        self._keepalive = keepalive
        self._connect_timeout = connect_timeout
        self._idle: dict[Origin, list[_Connection]] = {}
        self._origins: dict[str, Origin] = {}
        self._open: set[_Connection] = set()
        self._connecting = 0
        self._slot_waiters: deque[asyncio.Future[None]] = deque()
        self.closed = False

    async def request(
        self,
        base: str,
        method: str,
        target: str,
        headers: RawHeaders,
        body: Body,
        *,
        timeout: float,
    ) -> Response:
        """Send one request to the instance at ``base``; returns once the answer's head is in.

        ``timeout`` bounds the wait for a free connection and every silence of
        the upstream (before the answer and between two chunks of it).
        """
        origin = self._origin(base)
        conn = self._pooled(origin) or await self._connect(origin, timeout)
        head = conn.begin(head_request=method == "HEAD", read_timeout=timeout)
        try:
            start = _request_head(method, target, origin, headers, body)
            if body is None:
                conn.write(start)
                conn.written(whole=True)
            elif isinstance(body, bytes):
                conn.write(start + body)
                conn.written(whole=True)
            else:
                conn.write(start)
                chunked = _framing(headers, body) is not None
                conn.written(whole=await _write_streamed(conn, body, chunked=chunked))
            return await head
        except BaseException:
            conn.abort()
            if not head.done():
                head.cancel()
            elif not head.cancelled():
                head.exception()  # seen: the error raised here already tells the story
            raise

    async def close(self) -> None:
        """Close every connection (answers in flight end with ``Disconnected``)."""
        self.closed = True
        for conn in list(self._open):
            conn.abort()
        self._idle.clear()
        for waiter in self._slot_waiters:
            if not waiter.done():
                waiter.set_exception(ConnectFailed("the gateway is shutting down"))

    # Called by the connections

    def opened(self, conn: _Connection) -> None:
        self._open.add(conn)

    def lost(self, conn: _Connection) -> None:
        self._open.discard(conn)
        idle = self._idle.get(conn.origin)
        if idle and conn in idle:
            idle.remove(conn)
        self._wake_slot_waiter()

    def release(self, conn: _Connection) -> None:
        if self.closed:
            conn.abort()
            return
        conn.idle_since = self.loop.time()
        self._idle.setdefault(conn.origin, []).append(conn)
        self._wake_slot_waiter()

    # Internals

    def _origin(self, base: str) -> Origin:
        origin = self._origins.get(base)
        if origin is None:
            origin = self._origins[base] = Origin.parse(base)
        return origin

    def _pooled(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        now = self.loop.time()
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to be closing
            if not conn.closed and now - conn.idle_since < self._keepalive:
                return conn
            conn.abort()
        return None

    async def _connect(self, origin: Origin, timeout: float) -> _Connection:
        """A new connection, once there is room for one (or a pooled one freed meanwhile)."""
        if self.closed:
            raise ConnectFailed("the gateway is shutting down")
        async with asyncio.timeout(timeout):
            while len(self._open) + self._connecting >= self._limit:
                if not self._close_an_idle_connection(but=origin):
                    await self._wait_for_slot()
                    pooled = self._pooled(origin)
                    if pooled is not None:
                        return pooled
        self._connecting += 1
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, conn = await self.loop.create_connection(
                    lambda: _Connection(self, origin), origin.host, origin.port
                )
        except (OSError, TimeoutError) as exc:
            raise ConnectFailed(f"cannot connect to {origin.host}:{origin.port}: {exc!r}") from exc
        finally:
            self._connecting -= 1
        return conn

    def _close_an_idle_connection(self, *, but: Origin) -> bool:
        for origin, idle in self._idle.items():
            if idle and origin != but:
                idle.pop(0).abort()  # the longest idle
                return True
        return False

    async def _wait_for_slot(self) -> None:
        waiter = self.loop.create_future()
        self._slot_waiters.append(waiter)
        try:
            await waiter
        finally:
            with contextlib.suppress(ValueError):
                self._slot_waiters.remove(waiter)

    def _wake_slot_waiter(self) -> None:
        while self._slot_waiters:
            waiter = self._slot_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def _request_head(
    method: str, target: str, origin: Origin, headers: RawHeaders, body: Body
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1\r\nhost: ".encode("latin-1"), origin.host_header]
    for name, value in headers:
        lines += (b"\r\n", name, b": ", value)
    framing = _framing(headers, body)
    if framing is not None:
        lines.append(framing)
    lines.append(b"\r\n\r\n")
    return b"".join(lines)


def _framing(headers: RawHeaders, body: Body) -> bytes | None:
    """The Content-Length / Transfer-Encoding line the body needs (None: the caller's stands)."""
    if body is None:
        return None
    if isinstance(body, bytes):
        return b"\r\ncontent-length: %d" % len(body)
    if any(name == b"content-length" for name, _ in headers):
        return None  # a streamed body of known size keeps the client's Content-Length
    return b"\r\ntransfer-encoding: chunked"


async def _write_streamed(conn: _Connection, body: AsyncIterable[bytes], *, chunked: bool) -> bool:
    """Write the body as it comes; False when the upstream answered before it was all sent."""
    async for chunk in body:
        if conn.answered:
            return False  # it answered (or gave up) without reading it all
        if chunk:
            conn.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
            await conn.drain()
    if chunked:
        conn.write(_CHUNKED_END)
    return True
