"""Trace context through a kit service: kept as it came, or a child span when the SDK is on."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import text

from shopmesh.kit import tracing
from shopmesh.kit.jwt import Principal, issue_token
from tests.kit.sample import SECRET, sample_app
from tests.support import serve_in_process

TOKEN = issue_token(Principal(5, "ada"), secret=SECRET, issuer="shopmesh-auth", ttl=timedelta(1))
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN}-01"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "traceparent": TRACEPARENT}


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    try:
        yield exporter
    finally:
        tracing.use_provider(None)
        provider.shutdown()


async def outbox_traceparents(client) -> list[str | None]:
    runtime = client._transport.app.runtime
    async with runtime.db.engine.begin() as session:
        rows = await session.execute(text("SELECT traceparent FROM outbox_message ORDER BY id"))
        return [row[0] for row in rows]


def test_the_sdk_is_configured_only_with_an_otlp_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert tracing.configure_tracing("sample") is None
    assert not tracing.enabled()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
    provider = tracing.configure_tracing("sample")
    try:
        assert provider is not None
        assert tracing.enabled()
        assert provider.resource.attributes["service.name"] == "sample"
    finally:
        tracing.use_provider(None)
        if provider is not None:
            provider.shutdown()


def test_new_traceparent_is_valid_w3c_and_random() -> None:
    first, second = tracing.new_traceparent(), tracing.new_traceparent()
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", first)
    assert first != second


async def test_without_the_sdk_the_incoming_traceparent_reaches_the_outbox_as_is(
    sqlite_url: str,
) -> None:
    assert not tracing.enabled()
    async with serve_in_process(sample_app(sqlite_url, kafka_enabled=False)) as client:
        response = await client.post("/notes", json={"body": "plain"}, headers=HEADERS)
        assert response.status_code == 201
        assert await outbox_traceparents(client) == [TRACEPARENT]


async def test_with_the_sdk_a_request_is_a_server_span_in_the_callers_trace(
    sqlite_url: str, exporter: InMemorySpanExporter
) -> None:
    async with serve_in_process(sample_app(sqlite_url, kafka_enabled=False)) as client:
        response = await client.post("/notes", json={"body": "traced"}, headers=HEADERS)
        assert response.status_code == 201
        stored = await outbox_traceparents(client)
    span = next(s for s in exporter.get_finished_spans() if s.name == "POST /notes")
    assert span.kind is SpanKind.SERVER
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == PARENT_SPAN
    assert span.attributes["http.route"] == "/notes"
    assert span.attributes["http.response.status_code"] == 201
    # What travels on (the outbox row, then Kafka) is the new span, in the same trace.
    assert stored == [f"00-{TRACE_ID}-{span.context.span_id:016x}-01"]


async def test_access_log_line_carries_the_trace_id(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from shopmesh.kit.logging import JsonFormatter

    formatter = JsonFormatter("sample")
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(formatter.format(record))

    handler = Capture()
    access = logging.getLogger("shopmesh.access")
    access.addHandler(handler)
    try:
        with caplog.at_level(logging.INFO, logger="shopmesh.access"):
            async with serve_in_process(sample_app(sqlite_url, kafka_enabled=False)) as client:
                await client.post("/notes", json={"body": "logged"}, headers=HEADERS)
    finally:
        access.removeHandler(handler)
    assert any(f'"trace_id":"{TRACE_ID}"' in line and '"route":"/notes"' in line for line in lines)
