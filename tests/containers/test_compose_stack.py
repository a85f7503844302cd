"""docker-compose.yml run for real: the images built from deploy/, the stack up, a user's flow.

Run by ``make test-containers`` (after ``scripts/containers.sh images``), never by
``make test``. Everything goes through the host ports the containers publish, as a
user's browser and curl would: the gateway for the API, the web container for the UI.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import yaml
from playwright.async_api import async_playwright, expect

from tests.containers.stack import COMPOSE_FILES, Stack, podman
from tests.support import wait_for
from tests.system.commerce import add_product, call, login, register
from tests.system.ui.support import CHROMIUM, CHROMIUM_ARGS

# Generous for two shared cores starting thirteen containers; each wait ends as soon as
# its condition holds.
HEALTHY_WITHIN = 420
ADMIN = ("admin", "admin12345")  # docker-compose.yml's development defaults
# The first test's set-up starts the stack (pytest's default per-test limit is 300 s).
pytestmark = pytest.mark.timeout(HEALTHY_WITHIN + 300)


def _compose_services() -> set[str]:
    return set(yaml.safe_load(COMPOSE_FILES[0].read_text())["services"])


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The whole compose file up and healthy; everything it created removed afterwards."""
    stack = Stack()
    try:
        up = stack.compose("up", "-d", "--no-build", "--pull", "never")
        assert up.returncode == 0, (
            f"podman-compose up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}"
        )
        expected = _compose_services()
        statuses = stack.wait_healthy(expected, timeout=HEALTHY_WITHIN)
        unhealthy = {name: status for name, status in statuses.items() if status != "healthy"}
        if unhealthy:
            logs = "\n".join(
                f"--- {name} ({status})\n{stack.logs(name)}" for name, status in unhealthy.items()
            )
            pytest.fail(f"not healthy after {HEALTHY_WITHIN}s: {unhealthy}\n{logs}")
        yield stack
    finally:
        left = stack.remove()
        assert not left, f"{stack.project} left behind: {left}"


@pytest.fixture
async def gateway(stack: Stack) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=stack.url("gateway")) as session:
        yield session


def test_every_service_starts_once_in_a_container_of_its_own(stack: Stack) -> None:
    assert set(stack.containers()) == _compose_services()
    # podman-compose does not wait for a dependency's health check: services that start
    # before PostgreSQL or Kafka is ready must wait for it, not crash and be restarted.
    assert stack.restarts() == dict.fromkeys(_compose_services(), 0)


async def test_register_log_in_charge_order_and_see_it_dispatched_and_counted(
    gateway: aiohttp.ClientSession,
) -> None:
    status, before = await call(gateway, "GET", "/analytics/stats")
    assert status == 200, before
    user = await register(gateway)
    token = await login(gateway, user["username"], "s3cret-pass")

    status, charge = await call(
        gateway,
        "POST",
        "/payment/transactions",
        token,
        json={"amount": 250.0, "description": "beans"},
    )
    assert status == 201, charge
    admin_token = await login(gateway, *ADMIN)
    product = await add_product(gateway, admin_token, price=12.5, stock=5)
    status, order = await call(
        gateway, "POST", "/api/orders", token, json={"product_id": product["id"], "quantity": 2}
    )
    assert status == 201, order
    assert order["status"] == "Created"

    async def order_status() -> str:
        _status, body = await call(gateway, "GET", f"/api/orders/{order['id']}", token)
        return str(body.get("status"))

    await wait_for(order_status, until=lambda s: s == "Dispatched", timeout=90, interval=0.5)

    async def stats() -> dict[str, Any]:
        _status, body = await call(gateway, "GET", "/analytics/stats")
        return dict(body)

    # The direct charge and the order's own (25.00, charged before it was dispatched).
    after = await wait_for(
        stats,
        until=lambda s: s["total_transactions"] == before["total_transactions"] + 2,
        timeout=90,
        interval=0.5,
        what="both charges counted by analytics",
    )
    assert Decimal(str(after["total_amount"])) - Decimal(str(before["total_amount"])) == Decimal(
        "275"
    )
    assert after["unique_users"] == before["unique_users"] + 1


async def test_the_web_container_serves_the_ui_that_talks_to_the_gateway(stack: Stack) -> None:
    async with aiohttp.ClientSession(base_url=stack.url("web")) as web:
        async with web.get("/config.js") as response:
            assert response.status == 200
            assert stack.url("gateway") in await response.text()
        async with web.get("/orders/42") as response:  # a client-side route: the app
            assert response.status == 200
            index = await response.text()
            assert '<div id="root">' in index
            assert response.headers["Cache-Control"] == "no-cache"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        script = re.search(r'src="(/assets/[^"]+\.js)"', index)
        assert script is not None, index
        async with web.get(script[1], headers={"Accept-Encoding": "gzip"}) as response:
            assert response.status == 200
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            # Locations that set their own headers used to drop the server's security ones.
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["X-Frame-Options"] == "DENY"
            assert "Accept-Encoding" in response.headers["Vary"]

    username = f"ct_{uuid.uuid4().hex[:10]}"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(f"{stack.url('web')}/signin?mode=register")
            await page.get_by_label("Username").fill(username)
            await page.get_by_label("Password").fill("container-pass-1")
            await page.get_by_role("button", name="Create account").click()
            await expect(page.get_by_test_id("user-chip")).to_contain_text(username, timeout=30_000)
            assert errors == []
        finally:
            await browser.close()


def test_the_containers_run_as_their_images_non_root_users(stack: Stack) -> None:
    containers = stack.containers()
    users = {"gateway": "10001", "payments": "10001", "web": "101"}
    for service, uid in users.items():
        assert podman("exec", containers[service], "id", "-u").stdout.strip() == uid, service
