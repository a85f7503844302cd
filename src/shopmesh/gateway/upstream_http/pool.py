"""The client: keep-alive connection pools per instance, at most ``limit`` connections in all."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from shopmesh.gateway.server.batch import WriteBatch
from shopmesh.gateway.upstream_http.connection import UpstreamConnection
from shopmesh.gateway.upstream_http.errors import ConnectFailed
from shopmesh.gateway.upstream_http.response import RawHeaders, Response
from shopmesh.gateway.upstream_http.sending import (
    Body,
    Origin,
    framing,
    request_head,
    write_streamed,
)

# How often waiting connections are checked for silence past their read timeout (a timeout
# fires at most this late): one timer for all, not one armed and cancelled per request.
_TICK = 0.05


class UpstreamClient:
    """Keep-alive connection pools per instance, at most ``limit`` connections in all.

    Live streams (answers that :meth:`Response.leave_pool`) do not count
    toward ``limit``: they cannot take the connections ordinary requests need.
    Made inside the event loop it serves (``asyncio.get_running_loop`` costs a
    system call per call in Python 3.11, so the loop is looked up once).
    """

    def __init__(self, *, limit: int, keepalive: float, connect_timeout: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.batch = WriteBatch(self.loop)  # the requests of one turn, written at its end
        self._limit = limit
        self._keepalive = keepalive
        self._connect_timeout = connect_timeout
        self._idle: dict[Origin, list[UpstreamConnection]] = {}
        self._origins: dict[str, Origin] = {}
        self._open: set[UpstreamConnection] = set()  # pooled ones: idle or busy
        self._streams: set[UpstreamConnection] = set()
        self._connecting = 0
        self._slot_waiters: deque[asyncio.Future[None]] = deque()
        self._watched: set[UpstreamConnection] = set()  # waiting for their upstream
        self._tick: asyncio.TimerHandle | None = None
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
        request_id: bytes | None = None,
    ) -> Response:
        """Send one request to the instance at ``base``; returns once the answer's head is in.

        ``timeout`` bounds the wait for a free connection, the upstream's
        silence once the request is out (and between two chunks of its
        answer), and each wait for it to take more of a streamed body. An
        answer that echoes another ``request_id`` than this one is refused. A
        streamed body that fails (the client's fault) aborts the connection:
        the upstream never receives a complete request.
        """
        origin = self._origins.get(base) or self._origin(base)
        conn = self._pooled(origin) or await self._connect(origin, timeout)
        if body is None or isinstance(body, bytes):
            head = self._start(conn, origin, method, target, headers, body, timeout, request_id)
        else:
            head = conn.begin(method == "HEAD", request_id)
            try:
                conn.write(request_head(method, target, origin, headers, body))
                chunked = framing(headers, body) is not None
                whole = await write_streamed(conn, body, chunked=chunked, timeout=timeout)
                conn.written(whole, timeout)
            except BaseException:
                conn.abort()
                if not head.done():
                    head.cancel()
                elif not head.cancelled():
                    head.exception()  # seen: the error raised here already tells the story
                raise
        try:
            return await head
        except BaseException:
            conn.abort()
            raise

    def send(
        self,
        base: str,
        method: str,
        target: str,
        headers: RawHeaders,
        body: bytes | None,
        timeout: float,
        request_id: bytes | None,
    ) -> asyncio.Future[Response] | None:
        """:meth:`request` without a coroutine when the request can go at once (an idle
        pooled connection): the future resolves with the answer's head. None: nothing
        was sent, use :meth:`request`. A cancelled future abandons the connection.
        """
        origin = self._origins.get(base) or self._origin(base)
        conn = self._pooled(origin)
        if conn is None:
            return None
        return self._start(conn, origin, method, target, headers, body, timeout, request_id)

    @property
    def streams(self) -> int:
        """Connections carrying a live stream now."""
        return len(self._streams)

    async def close(self) -> None:
        """Close every connection (answers in flight end with ``Disconnected``)."""
        self.closed = True
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        for conn in [*self._open, *self._streams]:
            conn.abort()
        self._idle.clear()
        for waiter in self._slot_waiters:
            if not waiter.done():
                waiter.set_exception(ConnectFailed("the gateway is shutting down"))

    # Called by the connections

    def watch(self, conn: UpstreamConnection) -> None:
        """Check ``conn`` for silence past its read timeout until :meth:`unwatch`."""
        self._watched.add(conn)
        if self._tick is None and not self.closed:
            self._tick = self.loop.call_later(_TICK, self._check_silences)

    def unwatch(self, conn: UpstreamConnection) -> None:
        self._watched.discard(conn)

    def opened(self, conn: UpstreamConnection) -> None:
        self._open.add(conn)

    def lost(self, conn: UpstreamConnection) -> None:
        self._open.discard(conn)
        self._streams.discard(conn)
        idle = self._idle.get(conn.origin)
        if idle and conn in idle:
            idle.remove(conn)
        self._wake_slot_waiter()

    def left_pool(self, conn: UpstreamConnection) -> None:
        if conn in self._open:
            self._open.discard(conn)
            self._streams.add(conn)
            self._wake_slot_waiter()

    def release(self, conn: UpstreamConnection) -> None:
        if self.closed or not conn.pooled:
            conn.abort()
            return
        conn.idle_since = self.loop.time()
        self._idle.setdefault(conn.origin, []).append(conn)
        if self._slot_waiters:
            self._wake_slot_waiter()

    # Internals

    def _check_silences(self) -> None:
        self._tick = None
        now = self.loop.time()
        silent = [
            conn
            for conn in self._watched
            if not conn.reading_paused and now - conn.last_read >= conn.read_timeout
        ]
        for conn in silent:
            self._watched.discard(conn)
            conn.timed_out()
        if self._watched and not self.closed:
            self._tick = self.loop.call_later(_TICK, self._check_silences)

    def _start(
        self,
        conn: UpstreamConnection,
        origin: Origin,
        method: str,
        target: str,
        headers: RawHeaders,
        body: bytes | None,
        timeout: float,
        request_id: bytes | None,
    ) -> asyncio.Future[Response]:
        """Write a request with a whole body (or none) on ``conn``; the future of its answer."""
        head = conn.begin(method == "HEAD", request_id)
        try:
            start = request_head(method, target, origin, headers, body)
            conn.write(start if body is None else start + body)
        except BaseException:
            conn.abort()
            head.cancel()
            raise
        conn.written(True, timeout)
        return head

    def _origin(self, base: str) -> Origin:
        origin = self._origins.get(base)
        if origin is None:
            origin = self._origins[base] = Origin.parse(base)
        return origin

    def _pooled(self, origin: Origin) -> UpstreamConnection | None:
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

    async def _connect(self, origin: Origin, timeout: float) -> UpstreamConnection:
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
                    lambda: UpstreamConnection(self, origin), origin.host, origin.port
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
