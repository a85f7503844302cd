"""The order saga end to end through the gateway on PostgreSQL and Kafka: an order is charged by
payments before it is dispatched, declined past the limit (its stock back), and a cancel before
dispatch voids its charge everywhere (payments' list and totals, analytics)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from tests.platform_fixtures import Platform
from tests.support import wait_for
from tests.system.commerce import add_product, call, order_stream, register, stock_of

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def _order(http: aiohttp.ClientSession, token: str, body: Any) -> dict[str, Any]:
    status, placed = await call(http, "POST", "/api/orders", token, json=body)
    assert status == 201, placed
    return dict(placed)


async def _read(http: aiohttp.ClientSession, token: str, order_id: int) -> dict[str, Any]:
    status, order = await call(http, "GET", f"/api/orders/{order_id}", token)
    assert status == 200, order
    return dict(order)


async def _settled(http: aiohttp.ClientSession, token: str, order_id: int, status: str) -> dict:
    async def read() -> dict[str, Any]:
        return await _read(http, token, order_id)

    return await wait_for(read, until=lambda o: o["status"] == status, what=f"order {status}")


async def _transactions(http: aiohttp.ClientSession, token: str) -> list[dict[str, Any]]:
    status, body = await call(http, "GET", "/payment/transactions", token)
    assert status == 200, body
    return list(body)


async def _summary(http: aiohttp.ClientSession, token: str) -> dict[str, Any]:
    status, body = await call(http, "GET", "/api/payments/summary", token)
    assert status == 200, body
    return dict(body)


async def _analytics_of(http: aiohttp.ClientSession, admin: str, user_id: int) -> dict | None:
    status, users = await call(http, "GET", "/api/analytics/users?limit=500", admin)
    assert status == 200, users
    return next((u for u in users if u["user_id"] == user_id), None)


async def test_a_cart_is_paid_before_it_is_dispatched_and_each_step_shows_live(
    platform: Platform, http: aiohttp.ClientSession, admin_token: str
) -> None:
    user = await register(http)
    board = await add_product(http, admin_token, price=19.99, stock=10, name="Oak board")
    cup = await add_product(http, admin_token, price=3.5, stock=10)
    async with order_stream(http, user["token"]) as stream:
        placed = await _order(
            http,
            user["token"],
            [{"product_id": board["id"], "quantity": 2}, {"product_id": cup["id"], "quantity": 1}],
        )
        assert Decimal(str(placed["total"])) == Decimal("43.48")
        assert {o["checkout_id"] for o in placed["orders"]} == {placed["checkout_id"]}
        assert {o["status"] for o in placed["orders"]} == {"Created"}
        first = placed["orders"][0]
        await wait_for(
            _async(lambda: stream.statuses_of(first["id"])),
            until=lambda seen: "Dispatched" in seen,
            what="Dispatched on the live stream",
        )
        assert stream.statuses_of(first["id"]) == ["Created", "Paid", "Dispatched"]
    order = await _settled(http, user["token"], first["id"], "Dispatched")
    transactions = await _transactions(http, user["token"])
    [charge] = [tx for tx in transactions if tx["order_id"] == first["id"]]
    assert order["transaction_id"] == charge["id"]
    assert (charge["description"], charge["amount"], charge["is_voided"]) == (
        f"Order #{first['id']} (Oak board x2)",
        39.98,
        False,
    )
    await _settled(http, user["token"], placed["orders"][1]["id"], "Dispatched")
    assert Decimal(str((await _summary(http, user["token"]))["total"])) == Decimal("43.48")
    counted = await wait_for(
        lambda: _analytics_of(http, admin_token, user["id"]),
        until=lambda u: u is not None and u["transactions"] == 2,
        what="both charges counted by analytics",
    )
    assert Decimal(str(counted["amount"])) == Decimal("43.48")


async def test_an_order_past_the_limit_is_declined_and_its_stock_comes_back_once(
    platform: Platform, http: aiohttp.ClientSession, admin_token: str
) -> None:
    user = await register(http)
    status, _ = await call(
        http,
        "POST",
        "/payment/transactions",
        user["token"],
        json={"amount": 990, "description": ""},
    )
    assert status == 201
    product = await add_product(http, admin_token, price=6, stock=4)
    async with order_stream(http, user["token"]) as stream:
        order = await _order(http, user["token"], {"product_id": product["id"], "quantity": 2})
        assert await stock_of(http, product["id"]) == 2
        declined = await _settled(http, user["token"], order["id"], "Payment declined")
        await wait_for(
            _async(lambda: stream.statuses_of(order["id"])),
            until=lambda seen: "Payment declined" in seen,
            what="Payment declined on the live stream",
        )
        told = [e for e in stream.events if e["order_id"] == order["id"]]
    assert [e["decline_reason"] for e in told if e["status"] == "Payment declined"] == [
        "limit_exceeded"
    ]
    assert (declined["decline_reason"], declined["transaction_id"]) == ("limit_exceeded", None)
    await wait_for(
        lambda: stock_of(http, product["id"]), until=lambda s: s == 4, what="stock released"
    )
    assert [tx["order_id"] for tx in await _transactions(http, user["token"])] == [None]
    # Cancelling a declined order is allowed, and gives nothing back twice.
    status, cancelled = await call(http, "POST", f"/api/orders/{order['id']}/cancel", user["token"])
    assert (status, cancelled["status"]) == (200, "Cancelled")
    await _order(http, user["token"], {"product_id": product["id"], "quantity": 1})  # a marker
    assert await stock_of(http, product["id"]) == 3


async def test_a_cancel_while_payment_runs_voids_the_charge_and_frees_the_limit(
    platform: Platform, http: aiohttp.ClientSession, admin_token: str
) -> None:
    user = await register(http)
    product = await add_product(http, admin_token, price=600, stock=2)
    order = await _order(http, user["token"], {"product_id": product["id"], "quantity": 1})
    status, cancelled = await call(http, "POST", f"/api/orders/{order['id']}/cancel", user["token"])
    assert (status, cancelled["status"]) == (200, "Cancelled")

    async def charge() -> list[dict[str, Any]]:
        return [t for t in await _transactions(http, user["token"]) if t["order_id"] == order["id"]]

    [voided] = await wait_for(
        charge, until=lambda txs: bool(txs) and txs[0]["is_voided"], what="the charge voided"
    )
    assert Decimal(str(voided["amount"])) == Decimal("600.00")
    summary = await _summary(http, user["token"])
    assert (Decimal(str(summary["total"])), Decimal(str(summary["remaining"]))) == (
        Decimal("0.00"),
        Decimal("1000.00"),
    )
    assert (await _read(http, user["token"], order["id"]))["status"] == "Cancelled"
    assert await stock_of(http, product["id"]) == 2
    await wait_for(
        lambda: _analytics_of(http, admin_token, user["id"]),
        until=lambda u: u is not None and (u["transactions"], u["amount"]) == (0, 0),
        what="analytics taking the voided charge off",
    )
    # The room is back: a second order of 600 is paid and dispatched.
    again = await _order(http, user["token"], {"product_id": product["id"], "quantity": 1})
    await _settled(http, user["token"], again["id"], "Dispatched")
    status, body = await call(http, "POST", "/payment/transactions/pay", user["token"])
    assert (status, body["transactions_paid"]) == (200, 1)  # the voided charge is not paid


async def test_a_cancel_racing_the_dispatch_ends_in_exactly_one_outcome(
    platform: Platform, http: aiohttp.ClientSession, admin_token: str
) -> None:
    user = await register(http)
    product = await add_product(http, admin_token, price=1, stock=8)
    orders = [
        await _order(http, user["token"], {"product_id": product["id"], "quantity": 1})
        for _ in range(8)
    ]

    async def cancel_later(order: dict[str, Any], after: float) -> int:
        await _settled(http, user["token"], order["id"], "Paid")
        await asyncio.sleep(after)  # spreads the cancels around the dispatch (1.5 s after Paid)
        status, _ = await call(http, "POST", f"/api/orders/{order['id']}/cancel", user["token"])
        return status

    answers = await asyncio.gather(
        *(cancel_later(order, 1.2 + 0.1 * i) for i, order in enumerate(orders))
    )
    assert set(answers) <= {200, 409}, answers
    await wait_for(
        lambda: stock_of(http, product["id"]),
        until=lambda s: s == answers.count(200),
        what="the cancelled orders' stock back",
    )

    async def charges() -> dict[int, dict[str, Any]]:
        return {t["order_id"]: t for t in await _transactions(http, user["token"])}

    expected_voids = {o["id"] for o, a in zip(orders, answers, strict=True) if a == 200}
    settled = await wait_for(
        charges,
        until=lambda c: {i for i, t in c.items() if t["is_voided"]} == expected_voids,
        what="the cancelled orders' charges voided",
    )
    shipped = {o["id"] for o, a in zip(orders, answers, strict=True) if a == 409}
    # Each shipped order's webhook arrives (the receiver fails first calls: retried).
    await wait_for(
        _async(lambda: _hooked(platform) & {o["id"] for o in orders}),
        until=lambda hooked: hooked == shipped,
        what="the dispatched orders' webhooks",
    )
    shipments = await _shipments(http, admin_token, [o["id"] for o in orders])
    for order, answer in zip(orders, answers, strict=True):
        read = await _read(http, user["token"], order["id"])
        outcome = (read["status"], settled[order["id"]]["is_voided"], shipments[order["id"]])
        assert outcome == (
            ("Cancelled", True, "cancelled")
            if answer == 200
            else ("Dispatched", False, "dispatched")
        )
    # No webhook ever named a cancelled order, and none named a shipped one twice.
    told = [i for i in _hooked_ids(platform) if i in {o["id"] for o in orders}]
    assert sorted(told) == sorted(shipped)


def _hooked_ids(platform: Platform) -> list[int]:
    return [json.loads(r["body"])["id"] for r in platform.webhooks.received]


def _hooked(platform: Platform) -> set[int]:
    return set(_hooked_ids(platform))


async def _shipments(http: aiohttp.ClientSession, admin: str, ids: list[int]) -> dict[int, str]:
    """The dispatcher's shipment status of each of ``ids`` (admin API)."""
    found = {}
    for order_id in ids:
        status, body = await call(http, "GET", f"/api/dispatcher/shipments/{order_id}", admin)
        assert status == 200, body
        found[order_id] = str(body["status"])
    return found


def _async(read):  # type: ignore[no-untyped-def]
    async def probe():  # type: ignore[no-untyped-def]
        return read()

    return probe
