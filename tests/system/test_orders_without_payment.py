"""`ORDERS_REQUIRE_PAYMENT=false` through the gateway on PostgreSQL and Kafka: the commerce
seed's own flow. An order goes Created → Dispatched with no charge (nothing in payments, nothing
counted by analytics), and a cancel before the dispatch still gives the stock back and ships
nothing."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.platform_fixtures import Platform, restarted_with
from tests.support import wait_for
from tests.system.commerce import add_product, call, order_stream, register, stock_of
from tests.system.test_payments_flow import stats

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def _status(http: aiohttp.ClientSession, token: str, order_id: int) -> dict[str, Any]:
    status, order = await call(http, "GET", f"/api/orders/{order_id}", token)
    assert status == 200, order
    return dict(order)


async def test_without_payment_an_order_ships_uncharged_and_a_cancel_still_wins_before(
    platform: Platform, http: aiohttp.ClientSession, admin_token: str
) -> None:
    async with restarted_with(platform, "orders", {"ORDERS_REQUIRE_PAYMENT": "false"}):
        before = await stats(http)
        user = await register(http)
        status, mode = await call(http, "GET", "/api/orders/settings", user["token"])
        assert (status, mode) == (200, {"payment_required": False})
        product = await add_product(http, admin_token, price=700, stock=5)
        async with order_stream(http, user["token"]) as stream:
            line = {"product_id": product["id"], "quantity": 1}
            status, shipped = await call(http, "POST", "/api/orders", user["token"], json=line)
            assert (status, shipped["status"]) == (201, "Created")
            status, kept = await call(http, "POST", "/api/orders", user["token"], json=line)
            assert status == 201, kept
            # Within the handling delay (1.5 s here): the cancel wins.
            status, cancelled = await call(
                http, "POST", f"/api/orders/{kept['id']}/cancel", user["token"]
            )
            assert (status, cancelled["status"]) == (200, "Cancelled")
            await wait_for(
                lambda: _status(http, user["token"], shipped["id"]),
                until=lambda o: o["status"] == "Dispatched",
                what="the order dispatched",
            )
            await wait_for(
                lambda: _async(stream.statuses_of(shipped["id"])),
                until=lambda seen: "Dispatched" in seen,
                what="Dispatched on the live stream",
            )
            assert stream.statuses_of(shipped["id"]) == ["Created", "Dispatched"]
        read = await _status(http, user["token"], shipped["id"])
        assert read["transaction_id"] is None
        await wait_for(
            lambda: stock_of(http, product["id"]), until=lambda n: n == 4, what="stock back"
        )
        status, hooked = await call(
            http, "GET", f"/api/dispatcher/shipments/{kept['id']}", admin_token
        )
        assert (status, hooked["status"]) == (200, "cancelled")
        assert (await _status(http, user["token"], kept["id"]))["status"] == "Cancelled"
        # The shipped order's webhook arrives (its first call fails: retried); none for the other.
        await wait_for(
            lambda: _async(_hooked(platform)),
            until=lambda ids: shipped["id"] in ids,
            what="the shipped order's webhook",
        )
        assert kept["id"] not in _hooked(platform)
        # Nothing was charged: not in payments, not at the limit, not in analytics.
        status, transactions = await call(http, "GET", "/payment/transactions", user["token"])
        assert (status, transactions) == (200, [])
        status, summary = await call(http, "GET", "/api/payments/summary", user["token"])
        assert (status, summary["total"], summary["remaining"]) == (200, 0, 1000)
        after = await stats(http)
        keys = ("total_transactions", "total_amount", "total_paid_transactions")
        assert {k: after[k] for k in keys} == {k: before[k] for k in keys}
        status, users = await call(http, "GET", "/api/analytics/users?limit=500", admin_token)
        assert status == 200
        assert user["id"] not in [u["user_id"] for u in users]
    status, mode = await call(http, "GET", "/api/orders/settings", user["token"])
    assert (status, mode) == (200, {"payment_required": True})


def _hooked(platform: Platform) -> list[int]:
    assert platform.webhooks is not None
    return [json.loads(r["body"])["id"] for r in platform.webhooks.received]


async def _async(value: Any) -> Any:
    return value
