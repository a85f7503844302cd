"""Forwarding one request to a backend over the pooled upstream client, streaming the answer.

Everything here runs on every proxied request, so it works on the raw ASGI
header bytes, sends small answers in one write and only spawns a task
(the client-disconnect watcher) for streamed answers.

Resilience: an instance that refuses a connection is ejected for a while; an
idempotent request (GET, HEAD, PUT, DELETE, OPTIONS, or a POST with an
``Idempotency-Key``) whose connection failed, or broke before any answer came
(the instance crashed with it in hand), is tried once more on another
instance; each service's circuit breaker counts requests that got no answer
(connect failures, timeouts, broken connections) and, once open, turns
requests away with a 503 at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable

from shopmesh.gateway.body import BodyTooLarge, ClientDisconnected
from shopmesh.gateway.headers import request_headers, response_headers, upstream_target
from shopmesh.gateway.metrics import UPSTREAM_EJECTIONS, count_upstream, status_outcome
from shopmesh.gateway.responses import Headers, send_error
from shopmesh.gateway.routing import Route
from shopmesh.gateway.upstream_http import (
    Body,
    ConnectFailed,
    Disconnected,
    Response,
    UpstreamClient,
    UpstreamError,
)
from shopmesh.gateway.upstreams import InstancePool, Upstreams
from shopmesh.kit.http import Receive, Scope, Send

log = logging.getLogger(__name__)

_EVENT_STREAM = b"text/event-stream"
_RETRYABLE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_IDEMPOTENCY_KEY = b"idempotency-key"


class _Exchange:
    """One forwarded request: where to answer, and how far it has got."""

    __slots__ = (
        "answered",
        "body_too_large",
        "client_gone",
        "extra_headers",
        "receive",
        "route",
        "scope",
        "send",
        "started",
    )

    def __init__(
        self, scope: Scope, receive: Receive, send: Send, route: Route, extra_headers: Headers
    ) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        self.route = route
        self.extra_headers = extra_headers
        self.started = False  # response headers sent: no error response possible any more
        self.answered = False  # the upstream's response headers arrived
        self.body_too_large = False
        self.client_gone = False

    async def start(self, status: int, headers: Headers) -> None:
        self.started = True
        await self.send({"type": "http.response.start", "status": status, "headers": headers})

    async def error(self, status: int, message: str, *, code: str) -> None:
        await send_error(
            self.send, self.scope, status, message, code=code, headers=self.extra_headers
        )


class Proxy:
    """Sends requests to the service a route names and relays the answers."""

    def __init__(
        self,
        client: UpstreamClient,
        upstreams: Upstreams,
        *,
        default_timeout: float,
        stream_idle_timeout: float,
        trust_forwarded: bool,
        buffer_bytes: int,
    ) -> None:
        self._client = client
        self._upstreams = upstreams
        self._default_timeout = default_timeout
        self._stream_idle_timeout = stream_idle_timeout
        self._trust_forwarded = trust_forwarded
        self._buffer_bytes = buffer_bytes

    async def forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        route: Route,
        body: Body,
        extra_headers: Headers,
    ) -> None:
        """Forward the request to ``route.service`` and relay the answer to the client."""
        exchange = _Exchange(scope, receive, send, route, extra_headers)
        service = route.service
        pool = self._upstreams.pool(service)
        base = pool.pick() if pool is not None else None
        if pool is None or base is None:
            count_upstream(service, "unavailable")
            await exchange.error(
                503, f"no {service} instance is available", code="service_unavailable"
            )
            return
        if not pool.breaker.allow():
            count_upstream(service, "circuit_open")
            message = f"{service} is unavailable, try again shortly"
            await exchange.error(503, message, code="service_unavailable")
            return
        # Concrete-type checks: isinstance() against the AsyncIterable ABC is slow on a hot path.
        if body is None or isinstance(body, bytes):
            streamed = False
        else:
            streamed = True
            body = _watch_size(body, exchange)
        try:
            await self._attempt(exchange, pool, base, body, streamed=streamed)
        except (TimeoutError, UpstreamError, BodyTooLarge) as exc:
            if not (exchange.answered or exchange.body_too_large or exchange.client_gone):
                pool.breaker.failure()
            await _fail(exchange, exc)

    async def _attempt(
        self, exchange: _Exchange, pool: InstancePool, base: str, body: Body, *, streamed: bool
    ) -> None:
        try:
            await self._request(exchange, pool, base, body, streamed=streamed)
        except ConnectFailed:
            if pool.eject(base):
                UPSTREAM_EJECTIONS.labels(exchange.route.service, base).inc()
            await self._retry(exchange, pool, base, body, streamed=streamed)
        except Disconnected:
            # The instance took the request and dropped the connection without an answer
            # (it crashed, or closed a pooled connection): it may or may not have acted,
            # which only an idempotent request may shrug off.
            if exchange.answered:
                raise
            await self._retry(exchange, pool, base, body, streamed=streamed)

    async def _retry(
        self, exchange: _Exchange, pool: InstancePool, base: str, body: Body, *, streamed: bool
    ) -> None:
        """Send an idempotent request once more on another instance, or re-raise."""
        # A streamed body cannot be sent twice; a buffered one can.
        other = None if streamed or not _may_retry(exchange.scope) else pool.pick(avoid=base)
        if other is None:
            raise
        count_upstream(exchange.route.service, "retried")
        await self._request(exchange, pool, other, body, streamed=False)

    async def _request(
        self, exchange: _Exchange, pool: InstancePool, base: str, body: Body, *, streamed: bool
    ) -> None:
        scope, route = exchange.scope, exchange.route
        headers = request_headers(scope, streamed=streamed, trust_forwarded=self._trust_forwarded)
        resp = await self._client.request(
            base,
            scope["method"],
            upstream_target(scope, route),
            headers,
            body,
            timeout=route.timeout or self._default_timeout,
        )
        try:
            exchange.answered = True
            # The service answered, whatever the status: a 5xx it chose to send is not an outage.
            pool.breaker.success()
            count_upstream(route.service, status_outcome(resp.status))
            await self._relay(exchange, resp, watch=not streamed)
        finally:
            resp.close()  # only cuts the connection when the answer was not read to the end

    async def _relay(self, exchange: _Exchange, resp: Response, *, watch: bool) -> None:
        headers = response_headers(resp.headers, exchange.extra_headers)
        length = resp.content_length
        if length is not None and length <= self._buffer_bytes:
            # Small answers (the common case) go out in one write.
            payload = await resp.read()
            await exchange.start(resp.status, headers)
            await exchange.send({"type": "http.response.body", "body": payload})
            return
        if resp.media_type == _EVENT_STREAM:
            # An event stream may stay quiet between events far longer than any answer takes.
            resp.set_read_timeout(self._stream_idle_timeout)
        await exchange.start(resp.status, headers)
        await _relay_stream(exchange, resp, watch=watch)


def _may_retry(scope: Scope) -> bool:
    method: str = scope["method"]
    if method in _RETRYABLE_METHODS:
        return True
    return method == "POST" and any(name == _IDEMPOTENCY_KEY for name, _ in scope["headers"])


async def _fail(exchange: _Exchange, exc: BaseException) -> None:
    service = exchange.route.service
    if exchange.body_too_large:
        count_upstream(service, "too_large")
        if not exchange.started:
            await exchange.error(413, "request body too large", code="payload_too_large")
    elif exchange.started:
        # Headers are out; all that is left is to cut the connection short.
        if not exchange.client_gone:
            count_upstream(service, "aborted")
            log.warning("upstream %s broke off a response: %r", service, exc)
    elif isinstance(exc, TimeoutError):
        count_upstream(service, "timeout")
        await exchange.error(504, f"{service} did not answer in time", code="gateway_timeout")
    else:
        count_upstream(service, "unreachable")
        await exchange.error(502, f"{service} is unreachable", code="bad_gateway")


async def _watch_size(body: AsyncIterable[bytes], exchange: _Exchange) -> AsyncIterable[bytes]:
    # Marks the exchange: a failure caused by the client's body is not the upstream's fault.
    try:
        async for chunk in body:
            yield chunk
    except BodyTooLarge:
        exchange.body_too_large = True
        raise
    except ClientDisconnected:
        exchange.client_gone = True
        raise


async def _relay_stream(exchange: _Exchange, resp: Response, *, watch: bool) -> None:
    """Pass the body on chunk by chunk as it arrives (event streams included)."""
    watcher = asyncio.create_task(_close_on_disconnect(exchange, resp)) if watch else None
    send = exchange.send
    try:
        async for chunk in resp.iter_chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except UpstreamError:
        if not exchange.client_gone:
            raise
    finally:
        if watcher is not None:
            watcher.cancel()


async def _close_on_disconnect(exchange: _Exchange, resp: Response) -> None:
    # uvicorn drops writes to a gone client silently, so without this an idle
    # event stream would hold its upstream connection open for ever.
    while (await exchange.receive())["type"] != "http.disconnect":
        pass
    exchange.client_gone = True
    resp.close()
