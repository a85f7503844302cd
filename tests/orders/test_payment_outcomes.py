"""Payments' outcomes applied by orders' durable handlers on each database: once per order
whatever the redeliveries, never over a cancel; and a cancel racing the dispatch on PostgreSQL
ends in exactly one of the two outcomes (the row lock decides)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
import pytest

from shopmesh.kit.events import EventEnvelope
from shopmesh.orders.consumers import HANDLERS
from shopmesh.orders.repository import OrdersUnitOfWork

from .support import ALICE, Fakes, Orders, running


def payment(kind: str, order: dict[str, Any], **fields: Any) -> EventEnvelope:
    """``payment.<kind>`` for ``order`` as payments sends it, under a new event id."""
    payload = {
        "event_id": str(uuid.uuid4()),
        "event_type": f"payment.{kind}",
        "occurred_at": order["created_at"],
        "producer": "payments",
        "order_id": order["id"],
        "user_id": order["customer_id"],
        "amount": order["total_cost"],
        **fields,
    }
    return EventEnvelope.parse(orjson.dumps(payload), topic="payment-events")


async def apply(orders: Orders, envelope: EventEnvelope) -> None:
    """The handler in one unit of work, as the kit's consumer runs it."""
    async with orders.runtime.units(OrdersUnitOfWork)() as uow:
        await HANDLERS[envelope.event_type](uow, envelope)


async def status_events(orders: Orders, order_id: int) -> list[str]:
    return [e["event_type"] for e in await orders.events() if e["id"] == order_id]


async def test_payment_authorized_twice_makes_one_paid_order_and_one_order_paid(
    service: Orders, fakes: Fakes
) -> None:
    placed = await service.place_one(ALICE, fakes.products.add("Tea", "2.00"), 3)
    for _ in range(2):  # the same outcome under two event ids: the UPDATE's condition decides
        await apply(service, payment("authorized", placed, transaction_id=77))
    order = (await service.get(ALICE, placed["id"])).json()
    assert (order["status"], order["transaction_id"], order["updated_by"]) == (
        "Paid",
        77,
        "payments",
    )
    assert await status_events(service, placed["id"]) == ["order.created", "order.paid"]


async def test_a_declined_payment_announces_the_release_once_and_is_never_paid_later(
    service: Orders, fakes: Fakes
) -> None:
    placed = await service.place_one(ALICE, fakes.products.add("Tea", "2.00"))
    await apply(service, payment("declined", placed, reason="limit_exceeded"))
    await apply(service, payment("declined", placed, reason="limit_exceeded"))
    await apply(service, payment("authorized", placed, transaction_id=5))
    order = (await service.get(ALICE, placed["id"])).json()
    assert (order["status"], order["decline_reason"], order["transaction_id"]) == (
        "Payment declined",
        "limit_exceeded",
        None,
    )
    events = await status_events(service, placed["id"])
    assert events == ["order.created", "order.payment_declined"]


async def test_an_outcome_after_a_cancel_leaves_the_order_cancelled(
    service: Orders, fakes: Fakes
) -> None:
    placed = await service.place_one(ALICE, fakes.products.add("Tea", "2.00"))
    assert (await service.cancel(ALICE, placed["id"])).status_code == 200
    await apply(service, payment("authorized", placed, transaction_id=5))
    order = (await service.get(ALICE, placed["id"])).json()
    assert order["status"] == "Cancelled"
    assert await status_events(service, placed["id"]) == ["order.created", "order.cancelled"]


@pytest.mark.postgres
async def test_a_cancel_racing_the_dispatch_ends_in_exactly_one_outcome(
    postgres_url: str, fakes: Fakes
) -> None:
    async with running(postgres_url, fakes.urls()) as service:
        tea = fakes.products.add("Tea", "1.00", stock=1000)
        placed = [await service.place_one(ALICE, tea) for _ in range(12)]
        for order in placed:
            await apply(service, payment("authorized", order, transaction_id=order["id"]))

        outcomes = await asyncio.gather(
            *(
                asyncio.gather(service.cancel(ALICE, o["id"]), service.confirm_dispatch(o))
                for o in placed
            )
        )
        assert {cancel.status_code for cancel, _ in outcomes} <= {200, 409}, outcomes
        for order, (cancel, dispatched) in zip(placed, outcomes, strict=True):
            read = (await service.get(ALICE, order["id"])).json()
            events = await status_events(service, order["id"])
            if (
                cancel.status_code == 200
            ):  # the cancel won: never dispatched, the void announced once
                assert (read["status"], events.count("order.cancelled")) == ("Cancelled", 1)
                assert dispatched == []  # the dispatcher was refused: nothing leaves
            else:  # the dispatch won: nothing to void, the order stays dispatched
                assert (read["status"], events.count("order.cancelled")) == ("Dispatched", 0)
                assert dispatched == [order["id"]]
