"""Recording requests: Prometheus series, the access-log line, trace spans.

Shared by the services' middleware (kit.http) and the gateway's own server.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left
from typing import Any

import orjson

from shopmesh.kit import tracing
from shopmesh.kit.logging import JsonFormatter, direct_writer, request_id_var, traceparent_var
from shopmesh.kit.metrics import HTTP_LATENCY, HTTP_REQUESTS, LATENCY_BUCKETS, add_observations

access_log = logging.getLogger("shopmesh.access")
_SAFE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
_TRACEPARENT = re.compile(rb"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def request_id_from(value: bytes | None) -> str:
    """``value`` (an ``X-Request-ID``) when it is safe to echo, else a new id."""
    if value is not None and _SAFE_REQUEST_ID.match(value):
        return value.decode("ascii")
    # 128 random bits as 32 hex digits, like uuid4().hex without building a UUID.
    return tracing.random_hex(16)


def traceparent_from(value: bytes | None) -> str | None:
    """``value`` (a ``traceparent``) when well formed, else None."""
    return value.decode("ascii") if value is not None and _TRACEPARENT.match(value) else None


def request_context(
    raw_id: bytes | None, raw_traceparent: bytes | None, *, method: str, path: str, quiet: bool
) -> tuple[str, Any, object, str | None]:
    """Where requests enter the platform: the request's id (the caller's ``X-Request-ID``
    when safe), its span and token (tracing on), and the trace context it runs in (the
    caller's ``traceparent``, else a new trace).
    """
    if raw_id is None and raw_traceparent is None and not tracing.enabled():
        # Most requests: both ids from one random draw.
        request_id, new_traceparent = tracing.new_ids()
        return request_id, None, None, new_traceparent
    span, token, traceparent = request_trace(
        traceparent_from(raw_traceparent), method=method, path=path, start_traces=True, quiet=quiet
    )
    return request_id_from(raw_id), span, token, traceparent


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
        # To the hundredth of a millisecond (round(x, 2) costs several times more).
        duration_ms = int(elapsed * 100_000 + 0.5) / 100
        direct = direct_writer(access_log)
        if direct is not None:
            handler, formatter = direct
            line = access_line(formatter, method, path, route, status, duration_ms, client, user_id)
            handler.write_line(line)
        elif access_log.isEnabledFor(logging.INFO):
            fields = _access_fields(method, path, route, status, duration_ms, client, user_id)
            access_log.info("request", extra=fields)

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


def access_line(
    formatter: JsonFormatter,
    method: str,
    path: str,
    route: str,
    status: int,
    duration_ms: float,
    client: str,
    user_id: int | None,
) -> bytes:
    """The access-log line ``formatter`` makes of a record with these fields, made directly.

    It is one line per request: with both ids known (every request's case) the whole
    object is one dict display for orjson (which escapes every value), without the
    generic line's second dict and update.
    """
    request_id = request_id_var.get()
    traceparent = traceparent_var.get()
    if not request_id or traceparent is None or len(traceparent) != 55:
        fields = _access_fields(method, path, route, status, duration_ms, client, user_id)
        return formatter.line_bytes(formatter.now(), "info", access_log.name, "request", fields)
    entry = {
        "ts": formatter.now(),
        "level": "info",
        "service": formatter.service,
        "logger": access_log.name,
        "msg": "request",
        "request_id": request_id,
        "trace_id": traceparent[3:35],
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        "duration_ms": duration_ms,
        "client": client,
        "user_id": user_id,
    }
    return orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE)


def _access_fields(
    method: str,
    path: str,
    route: str,
    status: int,
    duration_ms: float,
    client: str,
    user_id: int | None,
) -> dict[str, Any]:
    return {
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        "duration_ms": duration_ms,
        "client": client,
        "user_id": user_id,
    }
