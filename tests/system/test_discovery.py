"""Discovery with real processes: an instance dies, the registry goes away, routing goes on."""

from __future__ import annotations

import aiohttp
import pytest

from tests.platform_fixtures import REGISTRY_TOKEN, Platform
from tests.support import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def registered(platform: Platform) -> dict[str, int]:
    headers = {"Authorization": f"Bearer {REGISTRY_TOKEN}"}
    try:
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.get(f"{platform.urls['registry']}/api/registry/services") as response,
        ):
            return {name: len(items) for name, items in (await response.json()).items()}
    except aiohttp.ClientError:
        return {}


async def statuses(http: aiohttp.ClientSession, path: str, count: int) -> list[int]:
    seen = []
    for _ in range(count):
        async with http.get(path) as response:
            await response.read()
            seen.append(response.status)
    return seen


async def test_idempotent_requests_survive_the_loss_of_one_of_two_instances(
    platform: Platform, http: aiohttp.ClientSession
) -> None:
    second = platform.start_instance("products", "2")
    assert all((await platform.launcher.wait_ready([second], timeout=60)).values())
    await wait_for(
        lambda: platform.routed_instances("products"), until=lambda n: n == 2, what="2 routed"
    )
    original = platform.running["products"]
    platform.launcher.stop(original.spec, hard=True)  # kill -9: no deregistration
    try:
        assert await statuses(http, "/api/products?limit=1", 40) == [200] * 40
    finally:
        restarted = platform.launcher.start(
            original.spec, env=platform.env, port=int(original.url.rsplit(":", 1)[1])
        )
        platform.running["products"] = restarted
        assert all((await platform.launcher.wait_ready([restarted], timeout=60)).values())


async def test_the_gateway_keeps_routing_while_the_registry_is_down(
    platform: Platform, http: aiohttp.ClientSession
) -> None:
    everyone = await wait_for(
        lambda: registered(platform), until=lambda r: len(r) >= 7, what="all registered"
    )
    registry = platform.running["registry"]
    platform.launcher.stop(registry.spec)
    try:
        assert await statuses(http, "/api/products?limit=1", 20) == [200] * 20
        assert await statuses(http, "/analytics/stats", 20) == [200] * 20
    finally:
        restarted = platform.launcher.start(
            registry.spec, env=platform.env, port=int(registry.url.rsplit(":", 1)[1])
        )
        platform.running["registry"] = restarted
    # The new registry starts empty; every service notices on its next heartbeat.
    await wait_for(
        lambda: registered(platform),
        until=lambda r: set(r) >= set(everyone),
        what="services registered again",
    )
