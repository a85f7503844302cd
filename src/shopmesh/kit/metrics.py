"""Prometheus series shared by every service (each process has its own registry)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

HTTP_REQUESTS = Counter(
    "shopmesh_http_requests_total",
    "HTTP requests handled, by route template, method and status.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "shopmesh_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_PUBLISHED = Counter(
    "shopmesh_outbox_published_total", "Events published from the outbox.", ["service", "topic"]
)
OUTBOX_BACKLOG = Gauge(
    "shopmesh_outbox_backlog", "Outbox rows not yet published, at the last relay pass.", ["service"]
)
OUTBOX_PUBLISH_LATENCY = Histogram(
    "shopmesh_outbox_publish_latency_seconds",
    "Time from an event's commit to its acknowledgement by Kafka.",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
EVENTS_CONSUMED = Counter(
    "shopmesh_events_consumed_total",
    "Events read by a consumer, by outcome (applied, duplicate, failed, dead_lettered).",
    ["service", "topic", "outcome"],
)
RETENTION_DELETED = Counter(
    "shopmesh_retention_deleted_total",
    "Rows deleted by retention (kit.retention), by table.",
    ["service", "table"],
)
CONSUMER_LAG = Gauge(
    "shopmesh_consumer_lag",
    "Messages behind the partition's end.",
    ["service", "topic", "partition"],
)


def render() -> tuple[bytes, str]:
    """The exposition body and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
