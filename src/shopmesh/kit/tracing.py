"""Tracing: W3C trace context always, OpenTelemetry spans only when configured.

Without ``OTEL_EXPORTER_OTLP_ENDPOINT`` nothing here imports the OpenTelemetry
SDK: the ``traceparent`` header still travels (request -> outbox row -> Kafka
header -> consumer) and log lines carry its trace id. With it, every request
and every applied event becomes a span (a new span id in the same trace),
exported over OTLP/HTTP; the span's own ``traceparent`` is what travels on.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

_tracer: Tracer | None = None


class _RandomPool:
    """Random bytes from the OS, fetched 4 KiB at a time.

    Every request needs a request id and often a trace id; ``os.urandom`` is a
    system call each time, and system calls are what costs most on the
    gateway's hot path. The pool is dropped in a forked child so two
    processes never hand out the same ids.
    """

    _SIZE = 4096

    def __init__(self) -> None:
        self._buffer = b""
        self._offset = 0
        os.register_at_fork(after_in_child=self._drop)

    def hex(self, nbytes: int) -> str:
        start = self._offset
        if start + nbytes > len(self._buffer):
            self._buffer, start = os.urandom(self._SIZE), 0
        self._offset = start + nbytes
        return self._buffer[start : start + nbytes].hex()

    def _drop(self) -> None:
        self._buffer, self._offset = b"", 0


random_hex = _RandomPool().hex


def new_traceparent() -> str:
    """A fresh sampled W3C ``traceparent`` (random trace id and span id)."""
    raw = random_hex(24)
    return f"00-{raw[:32]}-{raw[32:]}-01"


def new_ids() -> tuple[str, str]:
    """A new request id (32 hex digits) and a new :func:`new_traceparent`, in one draw."""
    raw = random_hex(40)
    return raw[:32], f"00-{raw[32:64]}-{raw[64:]}-01"


def enabled() -> bool:
    """Whether spans are recorded (the SDK is configured)."""
    return _tracer is not None


def configure_tracing(service: str) -> TracerProvider | None:
    """Export spans over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

    The exporter reads the other standard ``OTEL_*`` variables (headers, timeout).
    """
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    use_provider(provider)
    return provider


def use_provider(provider: TracerProvider | None) -> None:
    """Record spans with ``provider`` (``None``: stop recording). Tests use it too."""
    global _tracer
    _tracer = provider.get_tracer("shopmesh") if provider is not None else None


def start_span(name: str, traceparent: str | None, *, kind: str) -> tuple[Span, object, str]:
    """Start a span under ``traceparent`` (or a new trace) and make it current.

    Returns the span, the token for :func:`end_span` and the span's own
    ``traceparent``. ``kind`` is ``"server"``, ``"consumer"`` or ``"producer"``.
    Only call it when :func:`enabled`.
    """
    from opentelemetry import context, trace

    assert _tracer is not None
    span = _tracer.start_span(name, context=_parent(traceparent), kind=_span_kind(kind))
    token = context.attach(trace.set_span_in_context(span))
    span_context = span.get_span_context()
    flags = int(span_context.trace_flags)
    own = f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{flags:02x}"
    return span, token, own


def end_span(span: Span, token: object, **attributes: Any) -> None:
    """Set ``attributes`` (``None`` values skipped), end the span and restore the context."""
    from opentelemetry import context

    for key, value in attributes.items():
        if value is not None:
            span.set_attribute(key, value)
    span.end()
    context.detach(token)  # type: ignore[arg-type]


def _parent(traceparent: str | None) -> Context | None:
    if traceparent is None:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract({"traceparent": traceparent})


def _span_kind(kind: str) -> Any:
    from opentelemetry.trace import SpanKind

    return SpanKind[kind.upper()]
