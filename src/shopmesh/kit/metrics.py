"""Prometheus series shared by every service (each process has its own registry)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

# Request latency buckets (seconds); +Inf is added by the histogram.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter(
    "shopmesh_http_requests_total",
    "HTTP requests handled, by route template, method and status.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "shopmesh_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
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


def add_observations(histogram: Histogram, counts: Sequence[float], total: float) -> None:
    """Add several observations at once to one histogram child.

    ``counts[i]`` observations fell in bucket ``i`` (the first whose upper bound
    is at least the value; the last is +Inf) and summed to ``total``: what
    ``observe`` would have recorded one by one, without its lock and loop per
    observation. It writes the child's bucket and sum values directly
    (prometheus_client has no batch API; tests/kit pin the equivalence).
    """
    buckets = histogram._buckets
    for index, count in enumerate(counts):
        if count:
            buckets[index].inc(count)
    histogram._sum.inc(total)


def render() -> tuple[bytes, str]:
    """The exposition body and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
