"""HTTP plumbing shared by the services and the gateway: error bodies, request ids, access log.

The middleware is plain ASGI (no per-request framework objects) because it
sits in front of every request, the gateway's hot path included.
"""

from __future__ import annotations

import logging
import re
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from shopmesh.kit import tracing
from shopmesh.kit.logging import log_fields, request_id_var, traceparent_var
from shopmesh.kit.metrics import HTTP_LATENCY, HTTP_REQUESTS, LATENCY_BUCKETS, add_observations

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = b"x-request-id"
TRACEPARENT_HEADER = b"traceparent"
_SAFE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("shopmesh.access")


def error_body(
    message: str, *, code: str, request_id: str | None = None, details: Any = None
) -> bytes:
    """The one error shape of the platform: ``{"error", "code", "request_id", "details"?}``."""
    body: dict[str, Any] = {"error": message, "code": code, "request_id": request_id}
    if details is not None:
        body["details"] = details
    return orjson.dumps(body)


async def send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Send a complete JSON response over raw ASGI."""
    all_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


_TRACEPARENT = re.compile(rb"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def incoming_request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is safe to echo, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            return request_id_from(value)
    return request_id_from(None)


def request_id_from(value: bytes | None) -> str:
    """``value`` (an ``X-Request-ID``) when it is safe to echo, else a new id."""
    if value is not None and _SAFE_REQUEST_ID.match(value):
        return value.decode("ascii")
    # 128 random bits as 32 hex digits, like uuid4().hex without building a UUID.
    return tracing.random_hex(16)


def incoming_traceparent(scope: Scope) -> str | None:
    """The W3C ``traceparent`` of the request when well formed."""
    for name, value in scope.get("headers", ()):
        if name == TRACEPARENT_HEADER:
            return traceparent_from(value)
    return None


def traceparent_from(value: bytes | None) -> str | None:
    """``value`` (a ``traceparent``) when well formed, else None."""
    return value.decode("ascii") if value is not None and _TRACEPARENT.match(value) else None


def request_trace(
    incoming: str | None, *, method: str, path: str, start_traces: bool, quiet: bool
) -> tuple[Any, object, str | None]:
    """The request's span (when tracing is on), its token, and the trace context it runs in.

    ``quiet`` requests (probes, scrapes) get no span; with ``start_traces`` a
    request without a trace context starts one.
    """
    if tracing.enabled() and not quiet:
        return tracing.start_span(f"{method} {path}", incoming, kind="server")
    if incoming is None and start_traces:
        return None, None, tracing.new_traceparent()
    return None, None, incoming


def end_request_span(
    span: Any, span_token: object, *, method: str, route: str, path: str, status: int, service: str
) -> None:
    """End a span :func:`request_trace` started, named after the route template."""
    span.update_name(f"{method} {route}")
    tracing.end_span(
        span,
        span_token,
        **{
            "http.request.method": method,
            "http.route": route,
            "http.response.status_code": status,
            "url.path": path,
            "service.component": service,
        },
    )


class RequestRecorder:
    """Counts, times and logs (one JSON line) each request of one service.

    ``labels()`` takes a lock and builds a tuple on every call: each series'
    children are kept here, bounded like the series themselves (route
    templates, methods, statuses). With ``batched`` (the gateway, where every
    microsecond of a request counts) the counts are summed here and reach the
    Prometheus series only at :meth:`flush` (call it before rendering them).
    """

    def __init__(self, service: str, *, batched: bool = False) -> None:
        self.service = service
        self._batched = batched
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        # key -> [count, sum of seconds, count per bucket ...]
        self._pending: dict[tuple[str, str, int], list[float]] = {}

    def record(
        self,
        *,
        method: str,
        route: str,
        path: str,
        status: int,
        elapsed: float,
        client: str,
        user_id: int | None,
    ) -> None:
        key = (method, route, status)
        if self._batched:
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pending[key] = [0.0] * (3 + len(LATENCY_BUCKETS))
            pending[0] += 1
            pending[1] += elapsed
            pending[2 + bisect_left(LATENCY_BUCKETS, elapsed)] += 1
        else:
            counter, histogram = self._children(key)
            counter.inc()
            histogram.observe(elapsed)
        log_fields(
            access_log,
            logging.INFO,
            "request",
            {
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "client": client,
                "user_id": user_id,
            },
        )

    def flush(self) -> None:
        """Move the counts summed since the last flush into the Prometheus series."""
        pending, self._pending = self._pending, {}
        for key, counts in pending.items():
            counter, histogram = self._children(key)
            counter.inc(counts[0])
            add_observations(histogram, counts[2:], counts[1])

    def _children(self, key: tuple[str, str, int]) -> tuple[Any, Any]:
        series = self._series.get(key)
        if series is None:
            method, route, status = key
            series = self._series[key] = (
                HTTP_REQUESTS.labels(self.service, method, route, str(status)),
                HTTP_LATENCY.labels(self.service, method, route),
            )
        return series


class RequestContextMiddleware:
    """Gives each request an id, echoes it, counts it and logs one JSON line for it.

    ``route_of(scope)`` names the route template for metrics (never the raw
    path, which would explode the series count). With ``start_traces`` (the
    gateway, where requests enter the platform) a request without a
    ``traceparent`` gets a new one, and the request's trace context (a new
    span's when tracing is on) replaces the header passed on.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        route_of: Callable[[Scope], str] | None = None,
        quiet_paths: frozenset[str] = frozenset({"/health", "/ready", "/metrics"}),
        start_traces: bool = False,
    ) -> None:
        self.app = app
        self.start_traces = start_traces
        self.service = service
        self.route_of = route_of or (lambda scope: str(scope.get("route_template", "unmatched")))
        self.quiet_paths = quiet_paths
        self._recorder = RequestRecorder(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope)
        scope["request_id"] = request_id
        token = request_id_var.set(request_id)
        span, span_token, traceparent = self._trace(scope)
        trace_token = traceparent_var.set(traceparent)
        started = time.perf_counter()
        status = 500
        header_value = request_id.encode()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    (REQUEST_ID_HEADER, header_value),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)
            traceparent_var.reset(trace_token)
            if span is not None:
                self._end_span(scope, span, span_token, status)

    def _trace(self, scope: Scope) -> tuple[Any, object, str | None]:
        """The request's span (when tracing is on) and the trace context it runs in."""
        incoming = incoming_traceparent(scope)
        span, span_token, traceparent = request_trace(
            incoming,
            method=scope.get("method", ""),
            path=scope.get("path", ""),
            start_traces=self.start_traces,
            quiet=scope.get("path") in self.quiet_paths,
        )
        if self.start_traces and traceparent is not None and traceparent is not incoming:
            scope["headers"] = _with_traceparent(scope.get("headers", ()), traceparent)
        return span, span_token, traceparent

    def _end_span(self, scope: Scope, span: Any, span_token: object, status: int) -> None:
        end_request_span(
            span,
            span_token,
            method=scope.get("method", ""),
            route=self.route_of(scope),
            path=scope.get("path", ""),
            status=status,
            service=self.service,
        )

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        path = scope.get("path", "")
        if path in self.quiet_paths:
            return
        self._recorder.record(
            method=scope.get("method", ""),
            route=self.route_of(scope),
            path=path,
            status=status,
            elapsed=elapsed,
            client=(scope.get("client") or ("", 0))[0],
            user_id=scope.get("user_id"),
        )


def _with_traceparent(headers: Any, traceparent: str) -> list[tuple[bytes, bytes]]:
    """The request headers with ``traceparent`` set to ours (a malformed one replaced)."""
    kept = [(name, value) for name, value in headers if name != TRACEPARENT_HEADER]
    kept.append((TRACEPARENT_HEADER, traceparent.encode()))
    return kept


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413, by header or while streaming."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = 1024 * 1024) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(scope, send)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLarge:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = error_body(
            f"request body exceeds {self.max_bytes} bytes",
            code="payload_too_large",
            request_id=scope.get("request_id"),
        )
        await send_json(send, 413, body)


class _BodyTooLarge(Exception):
    pass
