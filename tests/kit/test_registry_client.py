"""Services and the registry on real sockets: registration, heartbeats, restarts, lookups."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shopmesh.kit.app import create_service_app
from shopmesh.kit.registry import (
    InstanceCache,
    Presence,
    Registration,
    RegistryClient,
    RegistryResolver,
)
from shopmesh.kit.runtime import ServiceRuntime
from shopmesh.kit.settings import ServiceSettings
from shopmesh.registry.main import create_app as create_registry
from shopmesh.registry.settings import Settings as RegistrySettings
from tests.support import Running, free_port, serve, serve_in_process, wait_for

TOKEN = "registry-test-token-0123456789-abcdefghij"
SECRET = "test-secret-0123456789-0123456789-abcdef"


def registry_app(**overrides: Any) -> Any:
    values: dict[str, Any] = {"registry_token": TOKEN, "kafka_enabled": False}
    values.update(overrides)
    return create_registry(RegistrySettings(**values))


@pytest.fixture
async def registry() -> AsyncIterator[Running]:
    running = await serve(registry_app())
    yield running
    await running.stop()


def service_settings(registry_url: str, **overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "service_name": f"svc-{uuid.uuid4().hex[:8]}",
        "registry_url": registry_url,
        "registry_token": TOKEN,
        "registry_heartbeat_interval": 0.1,
        "jwt_secret": SECRET,
        "kafka_enabled": False,
    }
    values.update(overrides)
    return ServiceSettings(**values)


def service_app(settings: ServiceSettings) -> Any:
    runtime = ServiceRuntime(settings, migrations=None)
    return create_service_app(runtime, title=settings.service_name, routers=[])


async def listed(registry_url: str, service: str) -> list[dict[str, Any]]:
    """The registry's raw answer about ``service``."""
    async with httpx.AsyncClient(base_url=registry_url) as http:
        response = await http.get(
            f"/api/registry/services/{service}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()
    return found


async def test_service_registers_on_start_heartbeats_and_deregisters_on_shutdown(
    registry: Running,
) -> None:
    port = free_port()
    settings = service_settings(registry.url, port=port)
    name = settings.service_name
    running = await serve(service_app(settings), port=port)
    try:
        [entry] = await wait_for(lambda: listed(registry.url, name), what="the registration")
        assert entry["url"] == f"http://127.0.0.1:{port}"
        assert entry["health_url"] == f"http://127.0.0.1:{port}/ready"
        assert entry["instance_id"].startswith(f"{name}-127.0.0.1-{port}-")
        first_beat = entry["last_heartbeat_at"]
        await wait_for(
            lambda: listed(registry.url, name),
            until=lambda found: len(found) == 1 and found[0]["last_heartbeat_at"] > first_beat,
            what="a heartbeat",
        )
    finally:
        await running.stop()
    assert await listed(registry.url, name) == []


async def test_service_registers_again_after_the_registry_restarts() -> None:
    first = await serve(registry_app())
    settings = service_settings(first.url)
    async with serve_in_process(service_app(settings)):
        [before] = await wait_for(lambda: listed(first.url, settings.service_name))
        await first.stop()
        # A new registry process on the same address knows nothing...
        second = await serve(registry_app(), port=first.port)
        try:
            assert await listed(second.url, settings.service_name) == []
            # ...until the next heartbeat is refused and the instance registers again.
            [after] = await wait_for(
                lambda: listed(second.url, settings.service_name), what="re-registration"
            )
            assert after["instance_id"] == before["instance_id"]
        finally:
            await second.stop()


async def test_service_starts_while_the_registry_is_down_and_registers_once_it_is_up() -> None:
    port = free_port()
    settings = service_settings(f"http://127.0.0.1:{port}")
    async with serve_in_process(service_app(settings)) as client:
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/ready")).status_code == 200
        registry = await serve(registry_app(), port=port)
        try:
            found = await wait_for(lambda: listed(registry.url, settings.service_name))
            assert len(found) == 1
        finally:
            await registry.stop()


async def test_a_service_calls_another_found_through_the_registry(registry: Running) -> None:
    port = free_port()
    callee = service_settings(registry.url, port=port)
    running = await serve(service_app(callee), port=port)
    try:
        caller_app = service_app(service_settings(registry.url))
        async with serve_in_process(caller_app):
            await wait_for(lambda: listed(registry.url, callee.service_name))
            runtime = caller_app.runtime
            answer = await runtime.client.call(callee.service_name, "GET", "/health")
        assert answer == {"status": "ok", "service": callee.service_name}
    finally:
        await running.stop()


async def test_the_registry_never_registers_with_itself() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    running = await serve(
        registry_app(registry_url=url, registry_heartbeat_interval=0.05), port=port
    )
    try:
        settings = service_settings(url)
        async with serve_in_process(service_app(settings)):
            # Two heartbeats of another service: the registry had time to register, had it tried.
            [entry] = await wait_for(lambda: listed(url, settings.service_name))
            await wait_for(
                lambda: listed(url, settings.service_name),
                until=lambda found: found[0]["last_heartbeat_at"] > entry["last_heartbeat_at"],
            )
            assert await listed(url, "registry") == []
    finally:
        await running.stop()


async def _register(client: RegistryClient, service: str, url: str) -> None:
    suffix = uuid.uuid4().hex[:6]
    await client.register(
        Registration(service, f"{service}-{suffix}", url=url, health_url=f"{url}/ready")
    )


async def test_resolver_keeps_the_last_known_good_list_when_the_registry_stops() -> None:
    registry = await serve(registry_app())
    settings = service_settings(
        registry.url, service_urls={"products": "http://static:1", "customers": "http://static:2"}
    )
    client = RegistryClient(settings)
    resolver = RegistryResolver(settings, client=client)
    try:
        await _register(client, "products", "http://10.0.0.1:8085")
        await _register(client, "products", "http://10.0.0.2:8085")
        found = ["http://10.0.0.1:8085", "http://10.0.0.2:8085"]
        assert await resolver.urls("products") == found
        await registry.stop()
        assert await resolver.refresh() is False
        assert await resolver.urls("products") == found
        # A service the registry never answered about falls back to the static URLs.
        assert await resolver.urls("customers") == ["http://static:2"]
    finally:
        await resolver.close()
        await client.close()


async def test_resolver_refresh_sees_new_instances(registry: Running) -> None:
    settings = service_settings(registry.url)
    client = RegistryClient(settings)
    resolver = RegistryResolver(settings, client=client)
    try:
        await _register(client, "orders", "http://10.0.0.1:8086")
        assert await resolver.urls("orders") == ["http://10.0.0.1:8086"]
        await _register(client, "orders", "http://10.0.0.2:8086")
        assert await resolver.urls("orders") == ["http://10.0.0.1:8086"]  # from the cache
        assert await resolver.refresh() is True
        assert await resolver.urls("orders") == ["http://10.0.0.1:8086", "http://10.0.0.2:8086"]
    finally:
        await resolver.close()
        await client.close()


async def test_resolver_uses_static_urls_when_the_registry_never_answered() -> None:
    settings = service_settings(
        f"http://127.0.0.1:{free_port()}", service_urls={"products": "http://static:8085"}
    )
    resolver = RegistryResolver(settings)
    try:
        assert await resolver.urls("products") == ["http://static:8085"]
        assert await resolver.urls("unknown") == []
        assert resolver.known("products") is None
    finally:
        await resolver.close()


async def test_presence_registers_again_when_the_registry_forgot_it(registry: Running) -> None:
    settings = service_settings(registry.url)
    client = RegistryClient(settings)
    presence = Presence(client, Registration.of(settings), interval=10)
    try:
        assert await presence.beat() is True
        [entry] = await listed(registry.url, settings.service_name)
        await client.deregister(settings.service_name, entry["instance_id"])
        assert await presence.beat() is True  # heartbeat refused with 404, then registered
        assert len(await listed(registry.url, settings.service_name)) == 1
        await presence.leave()
        assert await listed(registry.url, settings.service_name) == []
    finally:
        await client.close()


async def test_presence_reports_an_unreachable_registry() -> None:
    settings = service_settings(f"http://127.0.0.1:{free_port()}")
    client = RegistryClient(settings)
    presence = Presence(client, Registration.of(settings), interval=10)
    try:
        assert await presence.beat() is False
        assert not presence.registered
    finally:
        await client.close()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cache_keeps_a_known_list_through_a_short_emptiness() -> None:
    clock = Clock()
    cache = InstanceCache(empty_grace=30, clock=clock)
    assert cache.get("orders") is None
    cache.update("orders", ["http://a"])
    clock.now += 5
    cache.update("orders", [])  # e.g. a registry that has just restarted
    assert cache.get("orders") == ["http://a"]
    clock.now += 29
    cache.update("orders", [])
    assert cache.get("orders") == ["http://a"]
    clock.now += 1
    cache.update("orders", [])
    assert cache.get("orders") == []


def test_cache_takes_a_new_list_at_once_and_forgets_a_past_emptiness() -> None:
    clock = Clock()
    cache = InstanceCache(empty_grace=30, clock=clock)
    cache.update("orders", ["http://a"])
    cache.update("orders", [])
    clock.now += 25
    cache.update("orders", ["http://b", "http://c"])
    assert cache.get("orders") == ["http://b", "http://c"]
    clock.now += 10
    cache.update("orders", [])
    assert cache.get("orders") == ["http://b", "http://c"]  # a fresh grace period
    assert cache.checked_at("orders") == clock.now


def test_a_service_never_listed_stays_unknown_so_static_urls_are_used() -> None:
    cache = InstanceCache(empty_grace=30, clock=Clock())
    cache.update("orders", [])
    assert cache.get("orders") is None
    cache.update("orders", ["http://o:1"])
    assert cache.get("orders") == ["http://o:1"]


def test_registration_names_the_instance_after_its_advertised_address() -> None:
    settings = ServiceSettings(
        service_name="orders", port=8086, advertise_host="orders.internal", jwt_secret=SECRET
    )
    registration = Registration.of(settings)
    assert registration.instance_id.startswith("orders-orders.internal-8086-")
    assert registration.url == "http://orders.internal:8086"
    assert registration.health_url == "http://orders.internal:8086/ready"
    assert Registration.of(settings).instance_id != registration.instance_id
