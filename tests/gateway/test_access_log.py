"""What the gateway process records of each request: one complete JSON access-log line
(written the direct, buffered way) and its counts in the Prometheus series."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support import wait_for

from .hostile import marker, token
from .process import GatewayProcess, gateway_process
from .raw import exchange, request
from .recorder import RecordingUpstream

HEX32 = re.compile(r"[0-9a-f]{32}")
FIELDS = {
    "ts",
    "level",
    "service",
    "logger",
    "msg",
    "request_id",
    "trace_id",
    "method",
    "path",
    "route",
    "status",
    "duration_ms",
    "client",
    "user_id",
}


@pytest.fixture(scope="module")
async def gateway(
    upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GatewayProcess]:
    async with gateway_process(tmp_path_factory.mktemp("access"), upstream.base) as process:
        yield process


async def access_line(gateway: GatewayProcess, path: str) -> dict[str, Any]:
    """The access-log line of the one request to ``path`` (lines reach the file within ~0.2 s)."""

    async def lines() -> list[dict[str, Any]]:
        found = []
        for text in gateway.log().splitlines():
            if text.startswith("{") and path in text:
                line = json.loads(text)
                if line.get("logger") == "shopmesh.access" and line.get("path") == path:
                    found.append(line)
        return found

    return (await wait_for(lines, until=lambda found: len(found) == 1, what=path))[0]


async def test_a_proxied_request_leaves_one_line_with_every_field(
    gateway: GatewayProcess, upstream: RecordingUpstream
) -> None:
    mark = marker()
    path = f"/api/orders/{mark}"
    headers = [("Authorization", f"Bearer {token(4242)}"), ("X-Request-ID", f"req-{mark}")]
    answer = await exchange(gateway.port, request("GET", path, headers=headers))
    assert answer.status == 200
    line = await access_line(gateway, path)
    assert set(line) == FIELDS
    assert line["ts"].endswith("+00:00")
    assert (line["level"], line["service"], line["msg"]) == ("info", "gateway", "request")
    assert line["request_id"] == f"req-{mark}" == answer.headers["x-request-id"]
    (traceparent,) = upstream.complete(mark)[0].header("traceparent")
    assert line["trace_id"] == traceparent.split("-")[1]
    assert (line["method"], line["route"], line["status"]) == ("GET", "/api/orders", 200)
    assert (line["client"], line["user_id"]) == ("127.0.0.1", 4242)
    assert isinstance(line["duration_ms"], float)
    assert 0 <= line["duration_ms"] < 15_000


async def test_new_ids_and_an_unauthenticated_refusal_are_logged_too(
    gateway: GatewayProcess,
) -> None:
    path = f"/api/orders/{marker()}"
    answer = await exchange(gateway.port, request("GET", path))
    assert answer.status == 401
    line = await access_line(gateway, path)
    assert set(line) == FIELDS
    assert HEX32.fullmatch(line["request_id"])
    assert HEX32.fullmatch(line["trace_id"])
    assert line["request_id"] == answer.headers["x-request-id"]
    assert (line["status"], line["user_id"]) == (401, None)


async def test_requests_are_counted_per_route_and_upstream_outcome(
    gateway: GatewayProcess,
) -> None:
    for _ in range(3):
        answer = await exchange(gateway.port, request("GET", f"/api/products/{marker()}"))
        assert answer.status == 200
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{gateway.metrics_port}/metrics") as resp,
    ):
        metrics = await resp.text()
    labels = 'method="GET",route="/api/products",service="gateway",status="200"'
    assert f"shopmesh_http_requests_total{{{labels}}} 3.0" in metrics
    histogram = 'method="GET",route="/api/products",service="gateway"'
    assert f"shopmesh_http_request_duration_seconds_count{{{histogram}}} 3.0" in metrics
    assert 'shopmesh_gateway_upstream_requests_total{outcome="2xx",service="products"} 3.0' in (
        metrics
    )
