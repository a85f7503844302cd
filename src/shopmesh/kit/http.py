"""HTTP plumbing shared by the services and the gateway: error bodies, request ids, access log.

The middleware is plain ASGI (no per-request framework objects) because it
sits in front of every request, the gateway's hot path included.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from shopmesh.kit.access import (
    RequestRecorder,
    end_request_span,
    request_id_from,
    request_trace,
    traceparent_from,
)
from shopmesh.kit.logging import request_id_var, traceparent_var

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = b"x-request-id"
TRACEPARENT_HEADER = b"traceparent"


def error_fields(
    message: str, *, code: str, request_id: str | None = None, details: Any = None
) -> dict[str, Any]:
    """The one error shape of the platform: ``error``, ``message``, ``code``, ``request_id``.

    ``details`` is added when given (validation errors).

    ``error`` and ``message`` carry the same human text: the payments seed's
    client reads ``error``, the commerce seed's reads ``message``.
    """
    body: dict[str, Any] = {
        "error": message,
        "message": message,
        "code": code,
        "request_id": request_id,
    }
    if details is not None:
        body["details"] = details
    return body


def error_body(
    message: str, *, code: str, request_id: str | None = None, details: Any = None
) -> bytes:
    """:func:`error_fields` as JSON bytes."""
    return orjson.dumps(error_fields(message, code=code, request_id=request_id, details=details))


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


def incoming_request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is safe to echo, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            return request_id_from(value)
    return request_id_from(None)


def incoming_traceparent(scope: Scope) -> str | None:
    """The W3C ``traceparent`` of the request when well formed."""
    for name, value in scope.get("headers", ()):
        if name == TRACEPARENT_HEADER:
            return traceparent_from(value)
    return None


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
