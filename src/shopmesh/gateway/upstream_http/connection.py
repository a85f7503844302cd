"""One keep-alive connection to an upstream instance: one exchange at a time.

The connection decides whether it may be reused. It goes back to the pool
once per exchange, and only when the answer was read to the end, the request
was written whole and the upstream keeps the connection alive. Anything that
puts the framing in doubt closes it instead: bytes that arrive while no
exchange is in progress or after the answer ended (an extra answer, a body
longer than announced), an answer that is not valid HTTP/1.1, an answer
delimited by the connection's end, ``Connection: close``, a HEAD answer, an
answer whose ``X-Request-ID`` is not the request's (our services echo it: an
answer to an earlier request that arrived late). A transfer coding other than
``chunked`` is refused: the gateway does not decode one.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

import httptools

from shopmesh.gateway.upstream_http.errors import BadResponse, Disconnected, UpstreamTimeout
from shopmesh.gateway.upstream_http.response import RawHeaders, Response

if TYPE_CHECKING:
    from shopmesh.gateway.upstream_http.pool import UpstreamClient
    from shopmesh.gateway.upstream_http.sending import Origin


class UpstreamConnection(asyncio.Protocol):
    """The protocol of one connection to ``origin``."""

    def __init__(self, client: UpstreamClient, origin: Origin) -> None:
        self._client = client
        self.origin = origin
        self.loop = client.loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self.pooled = True  # counts toward the client's limit (a live stream does not)
        # The exchange in progress.
        self._busy = False
        self._head: asyncio.Future[Response] | None = None
        self._response: Response | None = None
        self._headers: RawHeaders = []
        self._length: int | None = None
        self._answer_id: bytes | None = None
        self._request_id: bytes | None = None
        self._interim = False
        self._head_request = False
        self._request_written = False
        self._answer_done = False
        self._keep = False
        # Write flow control.
        self._write_paused = False
        self._drained: asyncio.Future[None] | None = None
        # The read timeout, checked by the client's tick against the last read.
        self.read_timeout = 0.0
        self.last_read = 0.0
        self.reading_paused = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport but have its methods.
        self._transport = cast(asyncio.Transport, transport)
        self._client.opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._client.lost(self)
        head, response = self._head, self._response
        if head is not None and not head.done():
            head.set_exception(Disconnected("the upstream closed the connection before answering"))
        elif response is not None and not response.done:
            if self._delimited_by_close():
                response.finish()
            else:
                response.fail(Disconnected("the upstream closed the connection mid-answer"))
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_exception(Disconnected("the upstream closed the connection"))

    def data_received(self, data: bytes) -> None:
        if not self._busy or self._answer_done:
            self.abort()  # bytes nobody asked for: whatever comes next is out of step
            return
        self.last_read = self.loop.time()
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            # (A 101 is an "upgrade": the gateway never asks for one.)
            self._fail(BadResponse(f"invalid answer from the upstream: {exc!r}"))
            return
        if self._answer_done:
            self._settle()

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
        if self._answer_done:
            self._keep = False  # a second answer to one request
            raise BadResponse("more than one answer to one request")
        self._headers = []
        self._length = self._answer_id = None

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()  # once here: the proxy filters and forwards them lower-cased
        self._headers.append((name, value))
        if name == b"content-length":
            value = value.strip()
            self._length = int(value) if value.isdigit() else None
        elif name == b"x-request-id":
            self._answer_id = value
        elif name == b"transfer-encoding" and value.strip().lower() != b"chunked":
            # Any other coding would reach the client undecoded (and without a length, the
            # answer would only end with the connection).
            raise BadResponse("an answer in a transfer coding other than chunked")

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:
            self._interim = True  # 1xx: the real answer follows
            return
        expected, echoed = self._request_id, self._answer_id
        if expected is not None and echoed is not None and echoed != expected:
            self._keep = False
            raise BadResponse("an answer to another request (a late or extra answer)")
        response = self._response = Response(self, status, self._headers, self._length)
        head = self._head
        if head is not None and not head.done():
            head.set_result(response)
        elif head is not None and head.cancelled():
            # Nobody waits for this answer (UpstreamClient.send's caller left): close.
            raise BadResponse("the answer's reader left")
        if self._head_request:
            # The parser cannot be told a HEAD answer has no body: end it here, never reuse.
            response.finish()
            self._answer_done = True
            self.abort()

    def on_body(self, chunk: bytes) -> None:
        response = self._response
        if response is not None and response.feed(chunk) and self._transport is not None:
            self.reading_paused = True
            self._transport.pause_reading()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        self._client.unwatch(self)
        self._keep = self._parser.should_keep_alive()
        response = self._response
        if response is not None:
            response.finish()
        self._response = None
        self._head = None
        self._answer_done = True

    # Used by the client and the response

    def begin(self, head_request: bool, request_id: bytes | None) -> asyncio.Future[Response]:
        """Start an exchange: the future resolves with the answer's head.

        ``request_id``: the ``X-Request-ID`` sent; an answer echoing another is refused.
        """
        self._busy = True
        self._request_id = request_id
        self._head = self.loop.create_future()
        self._response = None
        self._interim = False
        self._head_request = head_request
        self._request_written = False
        self._answer_done = False
        self._keep = False
        return self._head

    def write(self, data: bytes) -> None:
        """Send ``data`` at the end of this turn of the loop (see the client's ``batch``)."""
        if self.closed or self._transport is None:
            raise Disconnected("the upstream closed the connection")
        self._client.batch.write(self._transport, data)

    async def drain(self, timeout: float) -> None:
        """Wait until the upstream takes what was written (at most ``timeout`` seconds)."""
        if self._write_paused and not self.closed:
            self._drained = self.loop.create_future()
            try:
                async with asyncio.timeout(timeout):
                    await self._drained
            except TimeoutError:
                raise UpstreamTimeout(f"the upstream took no data for {timeout:g} s") from None
            finally:
                self._drained = None

    def written(self, whole: bool, read_timeout: float) -> None:
        """The request is out: the upstream's time to answer starts now.

        Unless ``whole``, the connection is closed after the answer.
        """
        self._request_written = True
        if not whole:
            self._keep = False
        if self._answer_done:
            self._settle()
        else:
            self.arm_timer(read_timeout)

    @property
    def answered(self) -> bool:
        return self._head is None or self._head.done()

    def arm_timer(self, seconds: float) -> None:
        """Fail the exchange when the upstream stays silent ``seconds`` from now on."""
        self.read_timeout = seconds
        self.last_read = self.loop.time()
        self._client.watch(self)

    def resume_reading(self) -> None:
        if self.reading_paused and self._transport is not None:
            self.reading_paused = False
            self._transport.resume_reading()

    def leave_pool(self) -> None:
        if self.pooled:
            self.pooled = False
            self._client.left_pool(self)

    def abort(self) -> None:
        self._keep = False
        self._busy = False
        self._client.unwatch(self)
        if not self.closed:
            self.closed = True  # at once: the pool must not hand it out meanwhile
            if self._transport is not None:
                self._transport.abort()  # what is held for it is never sent

    # Internals

    def _settle(self) -> None:
        # Acts once per exchange, when the answer has ended and the request is out.
        if not (self._busy and self._answer_done and self._request_written):
            return
        self._busy = False
        if self._keep and not self.closed:
            self._client.release(self)
        else:
            self.abort()

    def timed_out(self) -> None:
        """The client's tick found the upstream silent past the read timeout."""
        self._fail(UpstreamTimeout(f"no answer within {self.read_timeout:g} s"))

    def _fail(self, error: Exception) -> None:
        head, response = self._head, self._response
        if head is not None and not head.done():
            head.set_exception(error)
        elif response is not None:
            response.fail(error)
        self.abort()

    def _delimited_by_close(self) -> bool:
        # An answer without Content-Length or chunking ends with the connection.
        response = self._response
        if response is None or response.content_length is not None:
            return False
        return not any(
            name == b"transfer-encoding" and b"chunked" in value.lower()
            for name, value in response.headers
        )
