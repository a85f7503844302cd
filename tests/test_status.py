"""``shopmesh status``: reading backlog and lag out of each service's /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from shopmesh.status import BACKLOG, LAG, ServiceStatus, collect, metric_totals, render
from tests.support import free_port

EXPOSITION = """\
# HELP shopmesh_outbox_backlog Outbox rows not yet published, at the last relay pass.
# TYPE shopmesh_outbox_backlog gauge
shopmesh_outbox_backlog{service="payments"} 12.0
# HELP shopmesh_consumer_lag Messages behind the partition's end.
# TYPE shopmesh_consumer_lag gauge
shopmesh_consumer_lag{partition="0",service="analytics",topic="transactions"} 3.0
shopmesh_consumer_lag{partition="1",service="analytics",topic="transactions"} 4.0
shopmesh_consumer_lag_other{service="analytics"} 100.0
# HELP shopmesh_http_requests_total HTTP requests handled.
# TYPE shopmesh_http_requests_total counter
shopmesh_http_requests_total{method="GET",route="/x",service="payments",status="200"} 9.0
"""
NAMES = frozenset({BACKLOG, LAG})


def test_totals_sum_every_label_set_of_the_named_series_only() -> None:
    assert metric_totals(EXPOSITION, NAMES) == {BACKLOG: 12.0, LAG: 7.0}


def test_a_declared_series_without_samples_is_absent() -> None:
    declared = "# HELP shopmesh_consumer_lag lag\n# TYPE shopmesh_consumer_lag gauge\n"
    assert metric_totals(declared, NAMES) == {}


def test_an_unparsable_body_gives_nothing() -> None:
    assert metric_totals("shopmesh_outbox_backlog{service= oops\n", NAMES) == {}


def test_render_shows_dashes_for_what_is_unknown() -> None:
    table = render(
        [
            ServiceStatus("payments", "http://127.0.0.1:8082", True, 2, 12.0, None),
            ServiceStatus("analytics", "http://127.0.0.1:8083", False),
        ],
        {"payments": 4242},
    )
    header, payments, analytics = table.splitlines()
    assert header.split() == ["service", "pid", "url", "ready", "instances", "backlog", "lag"]
    assert payments.split() == ["payments", "4242", "http://127.0.0.1:8082", "yes", "2", "12", "-"]
    assert analytics.split() == ["analytics", "-", "http://127.0.0.1:8083", "NO", "-", "-", "-"]


@pytest.fixture
async def service() -> AsyncIterator[str]:
    async def ready(request: web.Request) -> web.Response:
        return web.json_response({"status": "ready"})

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(text=EXPOSITION, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_collect_reads_readiness_and_metrics_and_survives_a_dead_service(
    service: str,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    up, down = await collect({"payments": service, "analytics": dead})
    assert up == ServiceStatus("payments", service, True, None, 12.0, 7.0)
    assert down == ServiceStatus("analytics", dead, False)
