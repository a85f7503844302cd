"""One request on a client connection and the answer to it.

The protocol fills in the request as it parses it and feeds the body; the
app reads the body (:meth:`Exchange.read_up_to`, :meth:`Exchange.iter_body`)
and answers in one write (:meth:`Exchange.respond`) or as a stream
(:meth:`Exchange.start`, :meth:`Exchange.send`, :meth:`Exchange.finish`).
The app must end every exchange it is given: answered, or :meth:`Exchange.abort`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from shopmesh.gateway.server import wire
from shopmesh.gateway.server.errors import BodyTooLarge, ClientError, ClientGone

if TYPE_CHECKING:
    from shopmesh.gateway.server.protocol import HttpProtocol


class Exchange:
    """The request (as parsed) and the state of its answer."""

    __slots__ = (
        "_body_error",
        "_buffered",
        "_chunked",
        "_chunks",
        "_conn",
        "_continued",
        "_waiter",
        "_wanted",
        "body_complete",
        "body_expected",
        "client",
        "client_gone",
        "close_after",
        "content_length",
        "fields",
        "finished",
        "head_request",
        "headers",
        "keep_alive",
        "method",
        "on_client_gone",
        "path",
        "query",
        "raw_path",
        "received",
        "refusal",
        "request_id",
        "route",
        "started",
        "status",
        "upgrade",
        "user_id",
        "version",
    )

    def __init__(self, conn: HttpProtocol, client: str) -> None:
        self._conn = conn
        self.client = client
        self.method = ""
        self.head_request = False  # set with the method
        self.raw_path = b""  # as sent (percent-encoding kept), repeated slashes merged
        self.path = ""  # decoded
        self.query = b""
        self.version = "1.1"
        self.headers: wire.Headers = []  # names lower-cased, in order; trailers never
        self.fields: dict[bytes, bytes] = {}  # the first value of each header
        self.keep_alive = True
        self.upgrade = False
        self.refusal: ClientError | None = None  # answered by the server, never by the app
        # The body, as it arrives.
        self.body_expected = False
        self.content_length: int | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self.received = 0
        self.body_complete = False
        self._body_error: ClientError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._continued = False
        self._wanted = 0  # body bytes the app waits to hold at once (more than the buffer)
        # The answer.
        self.status = 0
        self.started = False
        self.finished = False
        self._chunked = False
        self.close_after = False
        self.client_gone = False
        self.on_client_gone: Callable[[], None] | None = None
        # Filled in by the app, for its log line.
        self.request_id = ""
        self.route = "unmatched"
        self.user_id: int | None = None

    # Reading the body (the app)

    async def read_up_to(self, limit: int) -> tuple[bytes, bool]:
        """Body bytes until the body ends or ``limit`` of them are in; and whether it ended."""
        length = self.content_length
        if length is not None and length > self._conn.limits.max_body_bytes:
            raise BodyTooLarge(f"request body larger than {self._conn.limits.max_body_bytes} bytes")
        self._wanted = limit
        if self._buffered >= self._conn.limits.body_buffer_bytes:
            self._conn.body_drained()  # reading paused at the usual buffer: the app wants more
        while not self.body_complete and self._buffered < limit:
            await self._wait()
        self._wanted = 0
        if self._body_error is not None:
            raise self._body_error
        return self._take(), self.body_complete

    async def iter_body(self) -> AsyncIterator[bytes]:
        """The rest of the body as it arrives; raises a :class:`ClientError` if it breaks off."""
        while True:
            if self._body_error is not None:
                raise self._body_error
            if self._chunks:
                yield self._take()
            elif self.body_complete:
                return
            else:
                await self._wait()

    async def _wait(self) -> None:
        if self._body_error is not None:
            raise self._body_error
        if not self._continued and self.fields.get(b"expect", b"").lower() == b"100-continue":
            self._continued = True
            if self.received == 0 and self.version == "1.1":
                self._conn.write(wire.CONTINUE)
        waiter = self._waiter = self._conn.loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None
        if self._body_error is not None:
            raise self._body_error

    def _take(self) -> bytes:
        chunks, self._chunks = self._chunks, deque()
        if self._buffered >= self._conn.limits.body_buffer_bytes:
            self._conn.body_drained()
        self._buffered = 0
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    # Fed by the protocol

    def feed(self, chunk: bytes) -> bool:
        """Take a piece of body; True when reading should pause (the app is behind)."""
        self.received += len(chunk)
        if self.received > self._conn.limits.max_body_bytes:
            limit = self._conn.limits.max_body_bytes
            self.fail_body(BodyTooLarge(f"request body larger than {limit} bytes"))
            return True
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        self._wake()
        return self._buffered >= max(self._wanted, self._conn.limits.body_buffer_bytes)

    def complete_body(self) -> None:
        if self._body_error is None:  # a body refused on the way never completes
            self.body_complete = True
            self._wake()

    def fail_body(self, error: ClientError) -> None:
        if not self.body_complete and self._body_error is None:
            self._body_error = error
            self._chunks.clear()
            self._wake()

    def gone(self) -> None:
        if self.client_gone:
            return
        self.client_gone = True
        self.fail_body(ClientGone("the client closed the connection"))
        callback = self.on_client_gone
        if callback is not None:
            callback()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # Answering (the app)

    def respond(self, status: int, headers: wire.Headers, body: bytes = b"") -> None:
        """The whole answer in one write (the body left out for HEAD, kept in its length)."""
        if self.started:
            raise RuntimeError("the answer has already started")
        self.status = status
        self.started = self.finished = True
        conn = self._conn
        close = conn.must_close(self)
        if status < 200 or status == 204 or status == 304:  # wire.has_no_body
            conn.write(wire.response_head(status, headers, None, False, close, self.version))
        else:
            head = wire.response_head(status, headers, len(body), False, close, self.version)
            conn.write(head if self.head_request else head + body)
        conn.exchange_done(self, close=close)

    def start(self, status: int, headers: wire.Headers, *, length: int | None = None) -> None:
        """Send the head of a streamed answer (chunked when its length is unknown)."""
        if self.started:
            raise RuntimeError("the answer has already started")
        self.status, self.started = status, True
        no_body = wire.has_no_body(status) or self.head_request
        chunked = length is None and self.version == "1.1" and not no_body
        self._chunked = chunked
        # Without a length or chunking (HTTP/1.0) the answer ends with the connection.
        self.close_after = self.close_after or (length is None and not chunked and not no_body)
        close = self._conn.must_close(self)
        self._conn.write(wire.response_head(status, headers, length, chunked, close, self.version))

    async def send(self, data: bytes) -> None:
        """A piece of a streamed answer; waits while the client is not reading."""
        if data and not self.head_request:
            self._conn.write(wire.chunk(data) if self._chunked else data)
            await self._conn.drain()

    def finish(self) -> None:
        """End a streamed answer."""
        if self._chunked:
            self._conn.write(wire.last_chunk())
        self._end(self._conn.must_close(self))

    def abort(self) -> None:
        """Cut the connection: the client sees the answer end early (or none at all)."""
        self.finished = True
        self._conn.abort()

    def _end(self, close: bool) -> None:
        self.finished = True
        self._conn.exchange_done(self, close=close)
