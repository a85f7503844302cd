"""The commerce seed's flow, end to end through the gateway on PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from decimal import Decimal

import aiohttp
import pytest

from tests.platform_fixtures import WEBHOOK_SECRET, Platform
from tests.support import wait_for
from tests.system.commerce import add_product, call, order_stream, register, stock_of

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def test_a_registered_user_gets_a_customer_profile(
    platform: Platform, http: aiohttp.ClientSession
) -> None:
    user = await register(http)

    async def profile() -> tuple[int, dict]:
        return await call(http, "GET", "/api/customers/me", user["token"])

    _status, body = await wait_for(profile, until=lambda r: r[0] == 200, what="profile created")
    assert body["user_id"] == user["id"]
    assert body["name"] == user["username"]


async def test_order_two_units_and_watch_it_dispatch_live(
    platform: Platform, http: aiohttp.ClientSession, admin_token: str
) -> None:
    user = await register(http)
    product = await add_product(http, admin_token, price=19.99, stock=10)
    async with order_stream(http, user["token"]) as stream:
        status, order = await call(
            http,
            "POST",
            "/api/orders",
            user["token"],
            json={"product_id": product["id"], "quantity": 2, "total_cost": 0.01},
        )
        assert status == 201, order
        assert order["status"] == "Created"
        assert Decimal(str(order["total_cost"])) == Decimal("39.98")
        assert await stock_of(http, product["id"]) == 8
        await wait_for(
            _async(lambda: stream.statuses_of(order["id"])),
            until=lambda seen: "Dispatched" in seen,
            what="Dispatched on the live stream",
        )
    status, read = await call(http, "GET", f"/api/orders/{order['id']}", user["token"])
    assert (status, read["status"]) == (200, "Dispatched")
    assert read["product"]["id"] == product["id"]


async def test_cancel_before_dispatch_restores_stock(
    platform: Platform, http: aiohttp.ClientSession, admin_token: str
) -> None:
    user = await register(http)
    product = await add_product(http, admin_token, price=5, stock=3)
    status, orders = await call(
        http,
        "POST",
        "/api/orders",
        user["token"],
        json=[{"product_id": product["id"], "quantity": 3}],
    )
    assert status == 201, orders
    assert orders["order_count"] == 1
    assert await stock_of(http, product["id"]) == 0
    status, cancelled = await call(
        http, "POST", f"/api/orders/{orders['order_ids'][0]}/cancel", user["token"]
    )
    assert (status, cancelled["status"]) == (200, "Cancelled")
    await wait_for(
        lambda: stock_of(http, product["id"]), until=lambda s: s == 3, what="stock released"
    )
    status, body = await call(
        http, "POST", f"/api/orders/{orders['order_ids'][0]}/cancel", user["token"]
    )
    assert (status, body["status"]) == (200, "Cancelled")


async def test_twenty_concurrent_orders_for_the_last_five_units(
    platform: Platform, http: aiohttp.ClientSession, admin_token: str
) -> None:
    product = await add_product(http, admin_token, price=3, stock=5)
    buyers = await asyncio.gather(*(register(http) for _ in range(4)))
    results = await asyncio.gather(
        *(
            call(
                http,
                "POST",
                "/api/orders",
                buyers[i % 4]["token"],
                json={"product_id": product["id"], "quantity": 1},
            )
            for i in range(20)
        )
    )
    statuses = [status for status, _ in results]
    assert statuses.count(201) == 5, results
    assert statuses.count(409) == 15
    assert {body["code"] for status, body in results if status == 409} == {"out_of_stock"}
    assert await stock_of(http, product["id"]) == 0


async def test_customers_never_see_or_touch_each_others_orders_and_profiles(
    platform: Platform, http: aiohttp.ClientSession, admin_token: str
) -> None:
    alice, bob = await register(http), await register(http)
    product = await add_product(http, admin_token, price=1, stock=5)
    _, order = await call(
        http,
        "POST",
        "/api/orders",
        alice["token"],
        json={"product_id": product["id"], "quantity": 1},
    )
    assert (await call(http, "GET", f"/api/orders/{order['id']}", bob["token"]))[0] == 404
    assert (await call(http, "POST", f"/api/orders/{order['id']}/cancel", bob["token"]))[0] == 404
    status, bobs = await call(http, "GET", "/api/orders", bob["token"])
    assert (status, bobs) == (200, [])
    status, alices_profile = await wait_for(
        lambda: call(http, "GET", "/api/customers/me", alice["token"]),
        until=lambda r: r[0] == 200,
        what="alice's profile",
    )
    for method in ("GET", "PUT", "DELETE"):
        status, _ = await call(
            http,
            method,
            f"/api/customers/{alices_profile['id']}",
            bob["token"],
            json={"name": "Mallory", "email": "m@example.com"} if method == "PUT" else None,
        )
        assert status in {403, 404}, method
    status, unchanged = await call(http, "GET", "/api/customers/me", alice["token"])
    assert unchanged["name"] == alices_profile["name"]


async def test_dispatch_notifies_the_webhook_with_a_valid_signature_after_a_retry(
    platform: Platform, http: aiohttp.ClientSession, admin_token: str
) -> None:
    user = await register(http)
    product = await add_product(http, admin_token, price=2, stock=1)
    _, order = await call(
        http,
        "POST",
        "/api/orders",
        user["token"],
        json={"product_id": product["id"], "quantity": 1},
    )

    def delivered() -> list[dict]:
        return [r for r in platform.webhooks.received if json.loads(r["body"])["id"] == order["id"]]

    deliveries = await wait_for(_async(delivered), until=bool, what="webhook delivered")
    headers, body = deliveries[0]["headers"], deliveries[0]["body"]
    signed = f"{headers['X-ShopMesh-Timestamp']}.".encode() + body
    expected = hmac.new(WEBHOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert headers["X-ShopMesh-Signature"] == f"sha256={expected}"
    assert platform.webhooks.calls > len(platform.webhooks.received)  # the first try failed


def _async(read):
    async def probe():
        return read()

    return probe
