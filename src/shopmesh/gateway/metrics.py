"""The gateway's own Prometheus series (the per-route HTTP series come from the kit)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge

UPSTREAM_REQUESTS = Counter(
    "shopmesh_gateway_upstream_requests_total",
    "Requests forwarded to a backend, by service and outcome "
    "(2xx..5xx, timeout, unreachable, unavailable, circuit_open, retried, aborted, "
    "client_failed).",
    ["service", "outcome"],
)
UPSTREAM_INSTANCES = Gauge(
    "shopmesh_gateway_upstream_instances",
    "Instances the gateway currently routes to, by service (from the registry or settings).",
    ["service"],
)
UPSTREAM_EJECTIONS = Counter(
    "shopmesh_gateway_upstream_ejections_total",
    "Times an instance was set aside after refusing a connection, by service and instance.",
    ["service", "instance"],
)
CIRCUIT_STATE = Gauge(
    "shopmesh_gateway_circuit_state",
    "Each service's circuit breaker: 0 closed, 1 half-open, 2 open.",
    ["service"],
)
RATE_LIMITED = Counter(
    "shopmesh_gateway_rate_limited_total",
    "Requests refused with 429, by rate-limit class.",
    ["limit_class"],
)

_STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
# Counted here on the request path (a dict update, where the counter's inc() takes a
# lock), moved into the Prometheus counter by flush_upstream_counts() before a scrape.
# Keys: (service, outcome), or (service, status // 100) for an answer.
_pending: dict[tuple[str, str | int], int] = {}


def count_upstream(service: str, outcome: str) -> None:
    """Count one forwarded request."""
    key = (service, outcome)
    _pending[key] = _pending.get(key, 0) + 1


def count_answer(service: str, status: int) -> None:
    """Count one forwarded request the service answered, by status class (``"2xx"``...)."""
    key = (service, status // 100)
    _pending[key] = _pending.get(key, 0) + 1


def flush_upstream_counts() -> None:
    """Add what :func:`count_upstream` counted since the last flush to the counter."""
    for (service, outcome), count in list(_pending.items()):
        label = outcome if isinstance(outcome, str) else _STATUS_CLASSES.get(outcome, "other")
        UPSTREAM_REQUESTS.labels(service, label).inc(count)
    _pending.clear()


_CIRCUIT_VALUES = {"closed": 0, "half_open": 1, "open": 2}


def circuit_state_recorder(service: str) -> Callable[[str], None]:
    """A breaker callback that keeps ``service``'s circuit-state gauge in step."""
    gauge = CIRCUIT_STATE.labels(service)

    def record(state: str) -> None:
        gauge.set(_CIRCUIT_VALUES[state])

    return record
