"""The registry's HTTP API over ASGI: token, validation, lifecycle of an instance, TTL."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shopmesh.registry.api import TableDependency
from shopmesh.registry.main import create_app
from shopmesh.registry.settings import Settings
from tests.support import serve_in_process, wait_for

TOKEN = "registry-test-token-0123456789-abcdefghij"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"registry_token": TOKEN, "kafka_enabled": False}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def registry() -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_process(create_app(settings())) as client:
        yield client


def instance(service: str = "orders", **overrides: Any) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:6]
    body: dict[str, Any] = {
        "service": service,
        "instance_id": f"{service}-127.0.0.1-8086-{suffix}",
        "url": f"http://127.0.0.1:8086/{suffix}",
        "health_url": f"http://127.0.0.1:8086/{suffix}/ready",
        "metadata": {"zone": "a"},
    }
    body.update(overrides)
    return body


async def test_registered_instance_is_listed_with_its_details(registry: httpx.AsyncClient) -> None:
    body = instance()
    created = await registry.post("/api/registry/instances", json=body, headers=AUTH)
    assert created.status_code == 201
    listed = (await registry.get("/api/registry/services/orders", headers=AUTH)).json()
    assert listed == [created.json()]
    entry = listed[0]
    assert {k: entry[k] for k in body} == body
    assert entry["registered_at"] == entry["last_heartbeat_at"]
    assert entry["registered_at"].endswith("Z") or entry["registered_at"].endswith("+00:00")


async def test_registering_again_refreshes_the_instance(registry: httpx.AsyncClient) -> None:
    body = instance()
    await registry.post("/api/registry/instances", json=body, headers=AUTH)
    again = await registry.post(
        "/api/registry/instances", json={**body, "url": "http://10.0.0.9:1"}, headers=AUTH
    )
    assert again.status_code == 200
    listed = (await registry.get("/api/registry/services/orders", headers=AUTH)).json()
    assert [i["url"] for i in listed] == ["http://10.0.0.9:1"]


async def test_heartbeat_moves_the_last_heartbeat_on(registry: httpx.AsyncClient) -> None:
    body = instance()
    first = (await registry.post("/api/registry/instances", json=body, headers=AUTH)).json()
    url = f"/api/registry/instances/orders/{body['instance_id']}/heartbeat"
    beat = await wait_for(
        lambda: registry.put(url, headers=AUTH),
        until=lambda r: r.json()["last_heartbeat_at"] > first["last_heartbeat_at"],
        what="a later heartbeat time",
    )
    assert beat.status_code == 200
    assert beat.json()["registered_at"] == first["registered_at"]


async def test_heartbeat_of_an_unknown_instance_is_a_404(registry: httpx.AsyncClient) -> None:
    response = await registry.put("/api/registry/instances/orders/nobody-1/heartbeat", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_instance"


async def test_deregistered_instance_is_gone(registry: httpx.AsyncClient) -> None:
    kept, leaving = instance(), instance()
    for body in (kept, leaving):
        await registry.post("/api/registry/instances", json=body, headers=AUTH)
    url = f"/api/registry/instances/orders/{leaving['instance_id']}"
    assert (await registry.delete(url, headers=AUTH)).status_code == 204
    listed = (await registry.get("/api/registry/services/orders", headers=AUTH)).json()
    assert [i["instance_id"] for i in listed] == [kept["instance_id"]]
    again = await registry.delete(url, headers=AUTH)
    assert (again.status_code, again.json()["code"]) == (404, "unknown_instance")


async def test_all_services_are_listed_together(registry: httpx.AsyncClient) -> None:
    orders, products = instance("orders"), instance("products")
    for body in (orders, products):
        await registry.post("/api/registry/instances", json=body, headers=AUTH)
    listed = (await registry.get("/api/registry/services", headers=AUTH)).json()
    assert set(listed) == {"orders", "products"}
    assert [i["instance_id"] for i in listed["products"]] == [products["instance_id"]]
    assert (await registry.get("/api/registry/services/nothing", headers=AUTH)).json() == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/registry/instances"),
        ("PUT", "/api/registry/instances/orders/x/heartbeat"),
        ("DELETE", "/api/registry/instances/orders/x"),
        ("GET", "/api/registry/services"),
        ("GET", "/api/registry/services/orders"),
    ],
)
@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "unauthorized"),
        ({"Authorization": "Bearer wrong-token"}, "invalid_token"),
        ({"Authorization": f"Basic {TOKEN}"}, "unauthorized"),
    ],
)
async def test_every_call_needs_the_registry_token(
    registry: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], code: str
) -> None:
    response = await registry.request(method, path, json=instance(), headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == code
    listed = (await registry.get("/api/registry/services", headers=AUTH)).json()
    assert listed == {}


@pytest.mark.parametrize(
    "overrides",
    [
        {"service": "Orders"},
        {"service": "9orders"},
        {"service": "o" * 51},
        {"service": ""},
        {"instance_id": ""},
        {"instance_id": "a/b"},
        {"instance_id": "x" * 101},
        {"instance_id": "id with spaces"},
        {"url": "not a url"},
        {"url": "ftp://host:21"},
        {"url": 8086},
        {"health_url": "javascript:alert(1)"},
        {"metadata": {"nested": {"a": "b"}}},
        {"metadata": {"n": 1}},
        {"metadata": ["a"]},
        {"metadata": {f"k{i}": "v" for i in range(21)}},
        {"metadata": {"k": "v" * 300}},
    ],
)
async def test_bad_registrations_are_refused_and_nothing_is_registered(
    registry: httpx.AsyncClient, overrides: dict[str, Any]
) -> None:
    response = await registry.post(
        "/api/registry/instances", json=instance(**overrides), headers=AUTH
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert (await registry.get("/api/registry/services", headers=AUTH)).json() == {}


async def test_missing_fields_are_refused(registry: httpx.AsyncClient) -> None:
    response = await registry.post("/api/registry/instances", json={}, headers=AUTH)
    assert response.status_code == 422


class ManualClock:
    """Unix time that moves only when the test says so: expiry is decided by it, not by
    how long a loaded machine takes between two requests."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_an_instance_without_heartbeats_is_evicted_after_the_ttl() -> None:
    clock = ManualClock()
    app = create_app(settings(ttl=12, sweep_interval=0.05), clock=clock)
    async with serve_in_process(app) as registry:
        silent, beating = instance(), instance()
        for body in (silent, beating):
            await registry.post("/api/registry/instances", json=body, headers=AUTH)
        clock.now += 8
        beat_url = f"/api/registry/instances/orders/{beating['instance_id']}/heartbeat"
        assert (await registry.put(beat_url, headers=AUTH)).status_code == 200
        clock.now += 8  # the silent one: 16 s without a sign of life (TTL 12); the other one 8 s

        found = await registry.get("/api/registry/services/orders", headers=AUTH)
        assert [i["instance_id"] for i in found.json()] == [beating["instance_id"]]
        table = app.provided(TableDependency)

        async def held_in_memory() -> int:
            return len(table._services.get("orders", {}))

        await wait_for(
            held_in_memory,
            until=lambda n: n == 1,
            timeout=10,
            what="the sweep to drop the expired instance from memory",
        )
        late = await registry.put(
            f"/api/registry/instances/orders/{silent['instance_id']}/heartbeat", headers=AUTH
        )
        assert late.status_code == 404
        assert (await registry.put(beat_url, headers=AUTH)).status_code == 200


async def test_registry_is_ready_without_a_database(registry: httpx.AsyncClient) -> None:
    ready = await registry.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {}
