"""Forwarding one request to a backend over the pooled upstream client, streaming the answer.

Everything here runs on every proxied request, so it works on the raw header
bytes and sends small answers in one write.

Resilience: an instance that refuses a connection is ejected for a while; an
idempotent request (GET, HEAD, PUT, DELETE, OPTIONS, or a POST with an
``Idempotency-Key``) whose connection failed, or broke before any answer came
(the instance crashed with it in hand), is tried once more on another
instance; each service's circuit breaker counts requests that got no answer
(connect failures, timeouts, broken connections) and, once open, turns
requests away with a 503 at once. A failure on the client's side (its body
broke off, was too large or too slow, it went away) is never the upstream's:
it counts toward neither ejection nor the breaker.

Live streams (event-stream answers) are capped per user and per gateway and
leave the request pool, so they cannot take the connections ordinary
requests need.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable

from shopmesh.gateway.headers import request_headers, response_headers, upstream_target
from shopmesh.gateway.metrics import UPSTREAM_EJECTIONS, count_answer, count_upstream
from shopmesh.gateway.routing import Route
from shopmesh.gateway.server import ClientError, Exchange, Headers
from shopmesh.gateway.streams import StreamLimits
from shopmesh.gateway.upstream_http import (
    Body,
    ConnectFailed,
    Disconnected,
    Response,
    UpstreamClient,
    UpstreamError,
)
from shopmesh.gateway.upstreams import InstancePool, Upstreams
from shopmesh.kit.errors import AppError

log = logging.getLogger(__name__)

_EVENT_STREAM = b"text/event-stream"
_RETRYABLE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class Forward:
    """One request on its way: where it goes and what goes with it."""

    __slots__ = (
        "answered",
        "exchange",
        "extra_headers",
        "identity",
        "route",
        "traceparent",
        "trusted",
    )

    def __init__(
        self,
        exchange: Exchange,
        route: Route,
        extra_headers: Headers,
        identity: str,
        trusted: bool,
        traceparent: str | None,
    ) -> None:
        self.exchange = exchange
        self.route = route
        self.extra_headers = extra_headers  # CORS, RateLimit-*, X-Request-ID
        self.identity = identity  # whose streams these are
        self.trusted = trusted
        self.traceparent = traceparent
        self.answered = False  # the upstream's answer head arrived


class Proxy:
    """Sends requests to the service a route names and relays the answers."""

    def __init__(
        self,
        client: UpstreamClient,
        upstreams: Upstreams,
        streams: StreamLimits,
        *,
        default_timeout: float,
        stream_idle_timeout: float,
        buffer_bytes: int,
    ) -> None:
        self._client = client
        self._upstreams = upstreams
        self._streams = streams
        self._default_timeout = default_timeout
        self._stream_idle_timeout = stream_idle_timeout
        self._buffer_bytes = buffer_bytes

    async def forward(self, forward: Forward, body: Body) -> None:
        """Forward the request to ``route.service`` and relay the answer to the client.

        Raises :class:`AppError` for what the client gets as an error (503, 502,
        504, 429) and :class:`ClientError` when the client's side failed.
        """
        service = forward.route.service
        pool = self._upstreams.pool(service)
        base = pool.pick() if pool is not None else None
        if pool is None or base is None:
            count_upstream(service, "unavailable")
            raise AppError(
                f"no {service} instance is available", status=503, code="service_unavailable"
            )
        if not pool.breaker.allow():
            count_upstream(service, "circuit_open")
            message = f"{service} is unavailable, try again shortly"
            raise AppError(message, status=503, code="service_unavailable")
        # Concrete-type checks: isinstance() against the AsyncIterable ABC is slow on a hot path.
        streamed = not (body is None or isinstance(body, bytes))
        try:
            try:
                await self._request(forward, pool, base, body, streamed=streamed)
            except ConnectFailed:
                if pool.eject(base):
                    UPSTREAM_EJECTIONS.labels(service, base).inc()
                await self._retry(forward, pool, base, body, streamed=streamed)
            except Disconnected:
                # The instance took the request and dropped the connection without an
                # answer (it crashed, or closed a pooled connection): it may or may not have
                # acted, which only an idempotent request may shrug off.
                if forward.answered:
                    raise
                await self._retry(forward, pool, base, body, streamed=streamed)
        except ClientError:
            count_upstream(service, "client_failed")
            raise
        except (TimeoutError, UpstreamError) as exc:
            if not forward.answered:
                pool.breaker.failure()
            _fail(forward, exc)

    async def _retry(
        self, forward: Forward, pool: InstancePool, base: str, body: Body, *, streamed: bool
    ) -> None:
        """Send an idempotent request once more on another instance, or re-raise."""
        # A streamed body cannot be sent twice; a buffered one can.
        other = None if streamed or not _may_retry(forward.exchange) else pool.pick(avoid=base)
        if other is None:
            raise
        count_upstream(forward.route.service, "retried")
        await self._request(forward, pool, other, body, streamed=False)

    async def _request(
        self, forward: Forward, pool: InstancePool, base: str, body: Body, *, streamed: bool
    ) -> None:
        exchange, route = forward.exchange, forward.route
        request_id = exchange.request_id.encode("ascii")
        headers = request_headers(
            exchange, request_id, forward.trusted, streamed, forward.traceparent
        )
        client, method = self._client, exchange.method
        target, timeout = upstream_target(exchange, route), route.timeout or self._default_timeout
        # Most requests go at once on a pooled connection, with no coroutine in between.
        head = None
        if body is None or isinstance(body, bytes):
            head = client.send(base, method, target, headers, body, timeout, request_id)
        if head is not None:
            resp = await head
        else:
            resp = await client.request(
                base, method, target, headers, body, timeout=timeout, request_id=request_id
            )
        try:
            forward.answered = True
            # The service answered, whatever the status: a 5xx it chose to send is not an outage.
            pool.breaker.success()
            count_answer(route.service, resp.status)
            length = resp.content_length
            if length is not None and length <= self._buffer_bytes and not exchange.head_request:
                # Small answers (the common case) go out in one write, most often without
                # waiting: the body came with the head.
                body = resp.read_now()
                if body is None:
                    body = await resp.read()
                headers = response_headers(resp.headers, forward.extra_headers)
                exchange.respond(resp.status, headers, body)
            else:
                await self._relay(forward, resp)
        finally:
            resp.close()  # only cuts the connection when the answer was not read to the end

    async def _relay(self, forward: Forward, resp: Response) -> None:
        exchange = forward.exchange
        headers = response_headers(resp.headers, forward.extra_headers)
        length = resp.content_length
        if exchange.head_request:
            exchange.start(resp.status, headers, length=length)
            exchange.finish()
        elif resp.media_type == _EVENT_STREAM:
            await self._relay_live(forward, resp, headers)
        else:
            await _relay_stream(exchange, resp, headers, length)

    async def _relay_live(self, forward: Forward, resp: Response, headers: Headers) -> None:
        """An event stream: capped, out of the request pool, quiet for long spells."""
        self._streams.acquire(forward.identity)  # raises 429 past the caps
        try:
            resp.leave_pool()
            resp.set_read_timeout(self._stream_idle_timeout)
            await _relay_stream(forward.exchange, resp, headers, None)
        finally:
            self._streams.release(forward.identity)


def _may_retry(exchange: Exchange) -> bool:
    method = exchange.method
    if method in _RETRYABLE_METHODS:
        return True
    return method == "POST" and b"idempotency-key" in exchange.fields


def _fail(forward: Forward, exc: BaseException) -> None:
    exchange, service = forward.exchange, forward.route.service
    if exchange.started:
        # Headers are out; all that is left is to cut the connection short.
        if not exchange.client_gone:
            count_upstream(service, "aborted")
            log.warning("upstream %s broke off a response: %r", service, exc)
        exchange.abort()
    elif isinstance(exc, TimeoutError):
        count_upstream(service, "timeout")
        raise AppError(f"{service} did not answer in time", status=504, code="gateway_timeout")
    else:
        count_upstream(service, "unreachable")
        raise AppError(f"{service} is unreachable", status=502, code="bad_gateway")


async def _relay_stream(
    exchange: Exchange, resp: Response, headers: Headers, length: int | None
) -> None:
    """Pass the body on chunk by chunk as it arrives (event streams included)."""
    # A client that leaves must not hold an idle stream's upstream connection for ever.
    exchange.on_client_gone = resp.close
    exchange.start(resp.status, headers, length=length)
    try:
        async for chunk in resp.iter_chunks():
            await exchange.send(chunk)
    except UpstreamError:
        if not exchange.client_gone:
            raise
        return
    finally:
        exchange.on_client_gone = None
    exchange.finish()


async def streamed_body(first: bytes, exchange: Exchange) -> AsyncIterable[bytes]:
    """A body too large to hold whole: what was read, then the rest as it arrives."""
    if first:
        yield first
    async for chunk in exchange.iter_body():
        yield chunk
