"""Discovery through a real registry, and resilience when instances or the registry fail."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client import REGISTRY

from shopmesh.kit.registry import Registration, RegistryClient
from shopmesh.kit.settings import ServiceSettings
from shopmesh.registry.main import create_app as create_registry
from shopmesh.registry.settings import Settings as RegistrySettings
from tests.support import wait_for

from .support import Running, StartGateway, free_port, serve, unique
from .upstream import Upstream

TOKEN = "registry-test-token-0123456789-abcdefghij"


@pytest.fixture
async def registry() -> AsyncIterator[Running]:
    running = await serve(create_registry(RegistrySettings(registry_token=TOKEN)))
    yield running
    await running.stop()


@pytest.fixture
async def instances() -> AsyncIterator[list[Running]]:
    """Two fake `products` instances on sockets of their own."""
    started = [await serve(Upstream(name)) for name in ("products-a", "products-b")]
    yield started
    for running in started:
        if not running.task.done():
            await running.stop()


async def register(registry: Running, *urls: str) -> None:
    client = RegistryClient(ServiceSettings(registry_url=registry.url, registry_token=TOKEN))
    try:
        for url in urls:
            instance_id = f"products-{uuid.uuid4().hex[:6]}"
            await client.register(
                Registration("products", instance_id, url=url, health_url=f"{url}/ready")
            )
    finally:
        await client.close()


async def start_discovering(start_gateway: StartGateway, registry: Running) -> str:
    return await start_gateway(
        upstreams={},
        registry_url=registry.url,
        registry_token=TOKEN,
        registry_refresh_interval=0.05,
    )


async def answered_by(client: aiohttp.ClientSession, url: str, method: str = "GET") -> str:
    """The name of the instance that answered, or the error status."""
    async with client.request(method, url) as resp:
        if resp.status != 200:
            return f"status {resp.status}"
        service: str = (await resp.json())["service"]
        return service


def lookup_errors() -> float:
    labels = {"service": "gateway", "operation": "lookup", "outcome": "error"}
    return REGISTRY.get_sample_value("shopmesh_registry_client_calls_total", labels) or 0.0


async def test_registered_instances_share_the_requests_in_turn(
    start_gateway: StartGateway,
    registry: Running,
    instances: list[Running],
    client: aiohttp.ClientSession,
) -> None:
    gateway = await start_discovering(start_gateway, registry)
    url = f"{gateway}/api/products/{unique()}"
    async with client.get(url) as resp:  # nothing registered yet
        assert resp.status == 503
    await register(registry, *(running.url for running in instances))
    await wait_for(
        lambda: answered_by(client, url),
        until=lambda name: name == "products-b",
        what="the second instance to be discovered",
    )
    turns = [await answered_by(client, url) for _ in range(6)]
    assert Counter(turns) == {"products-a": 3, "products-b": 3}
    assert all(first != second for first, second in itertools.pairwise(turns))


async def test_a_dead_instance_is_ejected_and_idempotent_requests_keep_succeeding(
    start_gateway: StartGateway,
    registry: Running,
    instances: list[Running],
    client: aiohttp.ClientSession,
) -> None:
    gateway = await start_discovering(start_gateway, registry)
    await register(registry, *(running.url for running in instances))
    url = f"{gateway}/api/products/{unique()}"
    await wait_for(lambda: answered_by(client, url), until=lambda name: name == "products-b")
    await instances[1].stop()  # still registered: its heartbeats have not run out yet
    assert [await answered_by(client, url) for _ in range(6)] == ["products-a"] * 6
    # Ejected: even a POST without an Idempotency-Key (never retried) avoids it now.
    assert [await answered_by(client, url, "POST") for _ in range(4)] == ["products-a"] * 4


async def test_the_gateway_keeps_the_last_known_instances_when_the_registry_stops(
    start_gateway: StartGateway,
    registry: Running,
    instances: list[Running],
    client: aiohttp.ClientSession,
) -> None:
    gateway = await start_discovering(start_gateway, registry)
    await register(registry, instances[0].url)
    url = f"{gateway}/api/products/{unique()}"
    await wait_for(lambda: answered_by(client, url), until=lambda name: name == "products-a")
    errors = lookup_errors()
    await registry.stop()

    async def failed_lookups() -> float:
        return lookup_errors()

    await wait_for(failed_lookups, until=lambda n: n > errors, what="a failed registry lookup")
    assert [await answered_by(client, url) for _ in range(3)] == ["products-a"] * 3


async def test_a_post_is_retried_on_another_instance_only_with_an_idempotency_key(
    start_gateway: StartGateway, backends: dict[str, Upstream], client: aiohttp.ClientSession
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    gateway = await start_gateway(
        upstreams={"auth": [dead, backends["auth"].url]}, upstream_eject_seconds=0
    )
    url = f"{gateway}/auth/{unique()}"
    async with client.post(url, data=b"{}") as resp:  # the dead instance's turn: no retry
        assert resp.status == 502
        assert (await resp.json())["code"] == "bad_gateway"
    for _ in range(4):  # both instances' turns come up; each is answered
        async with client.post(url, data=b"{}", headers={"Idempotency-Key": unique()}) as resp:
            assert resp.status == 200
        async with client.put(url, data=b"{}") as resp:
            assert resp.status == 200


async def test_the_circuit_opens_after_consecutive_failures_and_a_probe_closes_it(
    start_gateway: StartGateway, client: aiohttp.ClientSession
) -> None:
    port = free_port()
    gateway = await start_gateway(
        upstreams={"auth": [f"http://127.0.0.1:{port}"]},
        circuit_failure_threshold=3,
        circuit_open_seconds=1.0,
    )
    url = f"{gateway}/auth/{unique()}"
    for _ in range(3):
        async with client.get(url) as resp:
            assert resp.status == 502
    async with client.get(url) as resp:
        assert resp.status == 503
        body = await resp.json()
    assert body["code"] == "service_unavailable"
    assert set(body) == {"error", "message", "code", "request_id"}
    assert body["message"] == body["error"]
    back = await serve(Upstream("auth-again"), port=port)
    try:

        async def status() -> int:
            async with client.get(url) as resp:
                return resp.status

        await wait_for(status, until=lambda code: code == 200, what="the probe to close it")
        assert [await status() for _ in range(3)] == [200, 200, 200]
    finally:
        await back.stop()


async def test_registry_paths_are_never_routed(gateway: str, client: aiohttp.ClientSession) -> None:
    for path in ("/api/registry/services", "/api/registry/instances", "/registry/services"):
        async with client.get(f"{gateway}{path}") as resp:
            assert resp.status == 404
            assert (await resp.json())["code"] == "not_found"


async def test_an_idempotent_request_is_retried_when_its_instance_drops_it_unanswered(
    start_gateway: StartGateway, backends: dict[str, Upstream], client: aiohttp.ClientSession
) -> None:
    async def crash_with_request(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.read(1024)  # the request arrived; the instance dies before answering
        writer.transport.abort()

    dying = await asyncio.start_server(crash_with_request, "127.0.0.1", 0)
    port = dying.sockets[0].getsockname()[1]
    try:
        gateway = await start_gateway(
            upstreams={"auth": [f"http://127.0.0.1:{port}", backends["auth"].url]},
            upstream_eject_seconds=0,
        )
        url = f"{gateway}/auth/{unique()}"
        for _ in range(2):  # each instance's turn comes up: every request is answered
            async with client.get(url) as resp:
                assert resp.status == 200
            async with client.post(url, data=b"{}", headers={"Idempotency-Key": unique()}) as resp:
                assert resp.status == 200
        statuses = []
        for _ in range(2):  # without a key the dying instance's turn is a 502: it may have acted
            async with client.post(url, data=b"{}") as resp:
                statuses.append(resp.status)
        assert sorted(statuses) == [200, 502]
    finally:
        dying.close()
        await dying.wait_closed()
