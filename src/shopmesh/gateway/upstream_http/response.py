"""An upstream's answer: status and headers at once, the body as it arrives."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from shopmesh.gateway.upstream_http.errors import Disconnected

if TYPE_CHECKING:
    from shopmesh.gateway.upstream_http.connection import UpstreamConnection

RawHeaders = list[tuple[bytes, bytes]]

# Reading from an upstream pauses while this much of its answer waits for a slow client.
_HIGH_WATER = 256 * 1024


class Response:
    """An upstream's answer; the connection feeds it, the proxy reads it."""

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
        self,
        conn: UpstreamConnection,
        status: int,
        headers: RawHeaders,
        content_length: int | None,
    ) -> None:
        self.status = status
        self.headers = headers  # as received, in order, names lower-cased
        self.content_length = content_length
        self._conn: UpstreamConnection | None = conn
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._done = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    @property
    def media_type(self) -> bytes:
        """The Content-Type without its parameters, lower-cased (``b""`` when absent)."""
        for name, value in self.headers:
            if name == b"content-type":
                return value.split(b";", 1)[0].strip().lower()
        return b""

    async def read(self) -> bytes:
        """The whole body."""
        while not self._done:
            await self._wait()
        body = self.read_now()
        assert body is not None
        return body

    def read_now(self) -> bytes | None:
        """The whole body if it has all arrived (small answers come with their head), else None."""
        if not self._done:
            return None
        if self._error is not None:
            raise self._error
        chunks = self._chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        return body

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

    def leave_pool(self) -> None:
        """This answer is a long-lived stream: its connection stops counting toward the limit."""
        if self._conn is not None:
            self._conn.leave_pool()

    def close(self) -> None:
        """Give up on the rest of the body: the connection is closed, not reused."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.abort()
        if not self._done:
            self._fail(Disconnected("the answer was abandoned"))

    # Called by the connection.

    def feed(self, chunk: bytes) -> bool:
        """Buffer a piece of body; True when the reader is far behind (pause reading)."""
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        if self._waiter is not None:
            self._wake()
        return self._buffered > _HIGH_WATER

    def finish(self) -> None:
        self._done = True
        self._conn = None
        self._wake()

    def fail(self, error: BaseException) -> None:
        self._fail(error)

    @property
    def done(self) -> bool:
        return self._done

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
