"""The floor under the gateway's overhead: a bare HTTP/1.1 forwarder in Python.

The gateway scenario measures it beside nginx and the gateway, on the same
upstream and load. It does only what any Python proxy must do: parse the
request with httptools, forward it over the gateway's own pooled upstream
client (:class:`UpstreamClient`) with ``X-Forwarded-For`` added, and write the
answer back in one write. It runs as one process on uvloop. It has no JWT
check, rate limits, access log, metrics, trace context, CORS, routing table or
ASGI server. What the gateway costs above it is the price of those features
and of uvicorn. What this costs above nginx is the price of Python.

Benchmark-only, not a proxy to deploy:
- requests without a body (one with a body gets 501);
- keep-alive;
- pipelined requests are answered in order, one at a time.

    python -m bench.forwarder --port 8101 --upstream http://127.0.0.1:8100 --strip /bench
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections import deque
from http import HTTPStatus

import httptools
import uvloop

from shopmesh.gateway.upstream_http import RawHeaders, UpstreamClient, UpstreamError

# Hop-by-hop (RFC 9110 7.6.1), or set by this forwarder or by the upstream client.
_REQUEST_DROP = frozenset({b"connection", b"keep-alive", b"host", b"x-forwarded-for"})
_RESPONSE_DROP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"content-length"})
_TIMEOUT = 10.0
_REASONS = {status.value: status.phrase.encode("latin-1") for status in HTTPStatus}


class _Request:
    __slots__ = ("has_body", "headers", "keep_alive", "method", "target")

    def __init__(self) -> None:
        self.target = b""
        self.headers: RawHeaders = []
        self.has_body = False
        self.method = ""
        self.keep_alive = True


class Forwarding(asyncio.Protocol):
    """One client connection: its requests are forwarded in the order they arrive."""

    def __init__(self, client: UpstreamClient, upstream: str, strip: bytes) -> None:
        self._client = client
        self._upstream = upstream
        self._strip = strip
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._peer = b""
        self._parsing = _Request()
        self._waiting: deque[_Request] = deque()
        self._busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self._peer = str(peer[0] if peer else "").encode()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._waiting.clear()

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._write(_answer(HTTPStatus.BAD_REQUEST, [], b""), keep_alive=False)

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._parsing = _Request()

    def on_url(self, url: bytes) -> None:
        self._parsing.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name not in _REQUEST_DROP:
            self._parsing.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self._parsing.has_body = True

    def on_message_complete(self) -> None:
        request = self._parsing
        request.method = self._parser.get_method().decode("latin-1")
        request.keep_alive = self._parser.should_keep_alive()
        request.headers.append((b"x-forwarded-for", self._peer))
        self._waiting.append(request)
        if not self._busy:
            self._busy = True
            asyncio.get_running_loop().create_task(self._serve())

    # Forwarding

    async def _serve(self) -> None:
        try:
            while self._waiting and self._transport is not None:
                request = self._waiting.popleft()
                answer = await self._forward(request)
                self._write(answer, keep_alive=request.keep_alive)
        finally:
            self._busy = False

    async def _forward(self, request: _Request) -> bytes:
        if request.has_body:
            return _answer(HTTPStatus.NOT_IMPLEMENTED, [], b"")
        target = request.target
        if self._strip and target.startswith(self._strip):
            target = target[len(self._strip) :] or b"/"
        try:
            response = await self._client.request(
                self._upstream,
                request.method,
                target.decode("latin-1"),
                request.headers,
                None,
                timeout=_TIMEOUT,
            )
            try:
                body = await response.read()
            finally:
                response.close()
        except (UpstreamError, TimeoutError):
            return _answer(HTTPStatus.BAD_GATEWAY, [], b"")
        kept = [(n, v) for n, v in response.headers if n not in _RESPONSE_DROP]
        return _answer(response.status, kept, body)

    def _write(self, data: bytes, *, keep_alive: bool) -> None:
        transport = self._transport
        if transport is None:
            return
        transport.write(data)
        if not keep_alive:
            transport.close()
            self._transport = None


def _answer(status: int, headers: RawHeaders, body: bytes) -> bytes:
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Unknown"))]
    lines += [b"%s: %s\r\n" % (name, value) for name, value in headers]
    lines.append(b"content-length: %d\r\n\r\n" % len(body))
    lines.append(body)
    return b"".join(lines)


async def serve(port: int, upstream: str, strip: str) -> None:
    """Forward connections on 127.0.0.1:``port`` until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    client = UpstreamClient(limit=1024, keepalive=4.0, connect_timeout=5.0)
    server = await loop.create_server(
        lambda: Forwarding(client, upstream, strip.encode("latin-1")), "127.0.0.1", port
    )
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        server.close()
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="http://host:port of the upstream")
    parser.add_argument("--strip", default="", help="path prefix removed before forwarding")
    args = parser.parse_args()
    uvloop.run(serve(args.port, args.upstream, args.strip))


if __name__ == "__main__":
    main()
