"""The gateway starts traces and exposes its health series to Prometheus."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import aiohttp
import pytest

from shopmesh.gateway.breaker import CircuitBreaker
from shopmesh.kit.logging import JsonFormatter

from .support import METRICS_URLS, StartGateway, free_port, unique
from .upstream import Upstream

TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-[0-9a-f]{16}-01")


@pytest.fixture
def access_lines() -> Iterator[list[str]]:
    """The gateway's access-log lines as the JSON formatter writes them."""
    formatter = JsonFormatter("gateway")
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(formatter.format(record))

    handler = Capture(level=logging.INFO)
    access = logging.getLogger("shopmesh.access")
    previous = access.level
    access.setLevel(logging.INFO)
    access.addHandler(handler)
    try:
        yield lines
    finally:
        access.removeHandler(handler)
        access.setLevel(previous)


@pytest.mark.parametrize("sent", [None, "00-not-a-trace"])
async def test_a_request_without_a_valid_traceparent_starts_a_trace(
    gateway: str,
    client: aiohttp.ClientSession,
    backends: dict[str, Upstream],
    access_lines: list[str],
    sent: str | None,
) -> None:
    name = unique()
    headers = {"traceparent": sent} if sent else {}
    async with client.get(f"{gateway}/auth/{name}", headers=headers) as resp:
        assert resp.status == 200
    seen = next(s for s in backends["auth"].seen if s.path.endswith(name))
    assert len(seen.headers_named("traceparent")) == 1
    match = TRACEPARENT.fullmatch(seen.header("traceparent") or "")
    assert match is not None
    line = next(line for line in access_lines if name in line)
    assert f'"trace_id":"{match.group(1)}"' in line


async def test_metrics_expose_circuit_state_instances_and_ejections(
    start_gateway: StartGateway, client: aiohttp.ClientSession, backends: dict[str, Upstream]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    gateway = await start_gateway(
        upstreams={
            "auth": [dead, backends["auth"].url],
            "payments": [backends["payments"].url],
            "analytics": [backends["analytics"].url],
        }
    )
    for _ in range(2):  # one of the two goes to the dead instance first, then is retried
        async with client.get(f"{gateway}/auth/{unique()}") as resp:
            assert resp.status == 200
    async with client.get(f"{METRICS_URLS[gateway]}/metrics") as resp:
        metrics = await resp.text()
    assert 'shopmesh_gateway_circuit_state{service="auth"} 0.0' in metrics
    assert 'shopmesh_gateway_upstream_instances{service="auth"} 2.0' in metrics
    assert f'shopmesh_gateway_upstream_ejections_total{{instance="{dead}",service="auth"}}' in (
        metrics
    )
    assert 'shopmesh_gateway_upstream_requests_total{outcome="retried",service="auth"}' in metrics
    for series in ("shopmesh_gateway_rate_limited_total", "shopmesh_http_requests_total"):
        assert f"# TYPE {series} " in metrics


def test_breaker_reports_every_state_change() -> None:
    now = [0.0]
    states: list[str] = []
    breaker = CircuitBreaker(
        failure_threshold=2, open_for=5, clock=lambda: now[0], on_change=states.append
    )
    breaker.failure()
    breaker.failure()
    now[0] = 6
    assert breaker.allow()
    breaker.success()
    breaker.success()
    assert states == ["closed", "open", "half_open", "closed"]
