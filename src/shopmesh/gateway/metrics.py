"""The gateway's own Prometheus series (the per-route HTTP series come from the kit)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge

UPSTREAM_REQUESTS = Counter(
    "shopmesh_gateway_upstream_requests_total",
    "Requests forwarded to a backend, by service and outcome "
    "(2xx..5xx, timeout, unreachable, unavailable, circuit_open, retried, aborted, too_large).",
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
# labels() takes a lock and builds a tuple on every call; children are cached instead.
_children: dict[tuple[str, str], Counter] = {}


def count_upstream(service: str, outcome: str) -> None:
    """Count one forwarded request."""
    key = (service, outcome)
    child = _children.get(key)
    if child is None:
        child = _children[key] = UPSTREAM_REQUESTS.labels(service, outcome)
    child.inc()


_CIRCUIT_VALUES = {"closed": 0, "half_open": 1, "open": 2}


def circuit_state_recorder(service: str) -> Callable[[str], None]:
    """A breaker callback that keeps ``service``'s circuit-state gauge in step."""
    gauge = CIRCUIT_STATE.labels(service)

    def record(state: str) -> None:
        gauge.set(_CIRCUIT_VALUES[state])

    return record


def status_outcome(status: int) -> str:
    """``"2xx"`` for 204 and so on."""
    return _STATUS_CLASSES.get(status // 100, "other")
