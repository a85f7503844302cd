"""One trace id follows a payment from the gateway to the analytics consumer; the series exist."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.platform_fixtures import Platform
from tests.support import wait_for
from tests.system.test_payments_flow import register

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

SERVICE_SERIES = (
    "shopmesh_http_requests_total",
    "shopmesh_http_request_duration_seconds",
    "shopmesh_outbox_backlog",
    "shopmesh_outbox_publish_latency_seconds",
    "shopmesh_events_consumed_total",
    "shopmesh_consumer_lag",
)
GATEWAY_SERIES = (
    "shopmesh_http_requests_total",
    "shopmesh_http_request_duration_seconds",
    "shopmesh_gateway_upstream_requests_total",
    "shopmesh_gateway_upstream_instances",
    "shopmesh_gateway_upstream_ejections_total",
    "shopmesh_gateway_circuit_state",
    "shopmesh_gateway_rate_limited_total",
)


def log_entries(path: Path) -> list[dict[str, Any]]:
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line being written while we read
    return entries


async def routable(platform: Platform, *services: str) -> None:
    """Wait until the gateway has discovered an instance of each of ``services``."""

    async def instances() -> dict[str, float]:
        found = metric_totals_by_service(await metrics_of(platform.gateway_metrics))
        return {s: found.get(s, 0.0) for s in services}

    await wait_for(
        instances, until=lambda found: all(found.values()), what=f"gateway routes to {services}"
    )


def metric_totals_by_service(exposition: str) -> dict[str, float]:
    pattern = re.compile(r'^shopmesh_gateway_upstream_instances\{service="([a-z]+)"\} (\S+)$')
    return {
        m.group(1): float(m.group(2))
        for m in map(pattern.match, exposition.splitlines())
        if m is not None
    }


async def pay(http: aiohttp.ClientSession, token: str, headers: dict[str, str]) -> str:
    """Create a transaction through the gateway; returns the response's request id."""
    async with http.post(
        "/payment/transactions",
        json={"amount": 12.5, "description": "traced"},
        headers={"Authorization": f"Bearer {token}", **headers},
    ) as response:
        assert response.status == 201, await response.text()
        return response.headers["X-Request-ID"]


async def test_a_client_traceparent_reaches_the_analytics_consumer_log(
    platform: Platform, http: aiohttp.ClientSession
) -> None:
    await routable(platform, "auth", "payments", "analytics")
    user = await register(http)
    trace_id = os.urandom(16).hex()
    await pay(http, user["token"], {"traceparent": f"00-{trace_id}-{os.urandom(8).hex()}-01"})
    analytics_log = platform.launcher.log_dir / "analytics.log"

    async def applied_in_trace() -> list[dict[str, Any]]:
        return [
            e
            for e in log_entries(analytics_log)
            if e.get("trace_id") == trace_id and e.get("event_type") == "transaction.created"
        ]

    found = await wait_for(applied_in_trace, what="analytics applying the traced event")
    assert found[0]["msg"] == "event applied"
    assert found[0]["event_id"]


async def test_the_gateway_starts_a_trace_for_a_request_without_one(
    platform: Platform, http: aiohttp.ClientSession
) -> None:
    await routable(platform, "auth", "payments")
    user = await register(http)
    request_id = await pay(http, user["token"], {})

    async def lines_of(service: str) -> list[dict[str, Any]]:
        path = platform.launcher.log_dir / f"{service}.log"
        return [e for e in log_entries(path) if e.get("request_id") == request_id]

    payments = await wait_for(lambda: lines_of("payments"), what="the payments access log")
    gateway = await wait_for(lambda: lines_of("gateway"), what="the gateway access log")
    trace_id = payments[0].get("trace_id", "")
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id)
    assert gateway[0].get("trace_id") == trace_id


async def metrics_of(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        assert response.status == 200
        return await response.text()


async def test_gateway_and_services_expose_the_observability_series(platform: Platform) -> None:
    gateway = await metrics_of(platform.gateway_metrics)
    declared = [line for line in gateway.splitlines() if line.startswith("# TYPE")]
    for series in GATEWAY_SERIES:
        assert f"# TYPE {series} " in gateway, (series, declared)
    for service in ("payments", "analytics"):
        body = await metrics_of(platform.urls[service])
        for series in SERVICE_SERIES:
            assert f"# TYPE {series} " in body, (service, series)
    assert 'shopmesh_gateway_circuit_state{service="payments"} 0.0' in gateway
