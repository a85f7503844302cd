"""Cancelling: only a Created order moves; again is idempotent; a dispatched one is refused."""

from __future__ import annotations

import asyncio

from .support import ALICE, Fakes, Orders, at


async def test_cancelling_a_created_order_cancels_it_and_announces_it(
    orders: Orders, fakes: Fakes
) -> None:
    tea = fakes.products.add("Tea", "1.50")
    placed = await orders.place_one(ALICE, tea, 2)

    response = await orders.cancel(ALICE, placed["id"])

    assert response.status_code == 200
    order = response.json()
    assert (order["id"], order["status"], order["updated_by"]) == (
        placed["id"],
        "Cancelled",
        "customer",
    )
    assert at(order["updated_at"]) > at(placed["updated_at"])
    assert (await orders.get(ALICE, placed["id"])).json()["status"] == "Cancelled"
    _, cancelled = await orders.events()
    assert cancelled["event_type"] == "order.cancelled"
    assert (cancelled["_key"], cancelled["id"], cancelled["reference"]) == (
        str(placed["id"]),
        placed["id"],
        placed["reference"],
    )
    assert (cancelled["status"], cancelled["total_cost"], cancelled["quantity"]) == (
        "Cancelled",
        3.0,
        2,
    )
    assert cancelled["updated_at"]


async def test_a_dispatched_order_cannot_be_cancelled(orders: Orders, fakes: Fakes) -> None:
    placed = await orders.place_one(ALICE, fakes.products.add("Tea", "1.00"))
    await orders.set_status(placed["id"], "Dispatched")

    response = await orders.cancel(ALICE, placed["id"])

    assert response.status_code == 409
    assert response.json()["code"] == "already_dispatched"
    assert (await orders.get(ALICE, placed["id"])).json()["status"] == "Dispatched"
    assert [e["event_type"] for e in await orders.events()] == ["order.created"]


async def test_an_unknown_order_cannot_be_cancelled(orders: Orders) -> None:
    response = await orders.cancel(ALICE, 987654)

    assert response.status_code == 404
    assert await orders.counts() == {
        "customer_order": 0,
        "outbox_message": 0,
        "idempotency_record": 0,
    }


async def test_concurrent_cancels_announce_the_cancellation_once(
    orders: Orders, fakes: Fakes
) -> None:
    placed = await orders.place_one(ALICE, fakes.products.add("Tea", "1.00"))

    responses = await asyncio.gather(*(orders.cancel(ALICE, placed["id"]) for _ in range(5)))

    assert [r.status_code for r in responses] == [200] * 5
    assert [e["event_type"] for e in await orders.events()] == ["order.created", "order.cancelled"]
