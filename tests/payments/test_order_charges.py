"""Orders charged and voided by payments' durable handlers on each database: one charge per
order whatever the redeliveries (a unique order id backs it), a void once, and what a voided
charge no longer counts in (the limit, the summary, pay-all)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from sqlalchemy.exc import IntegrityError

from shopmesh.kit.events import EventEnvelope
from shopmesh.payments.api import PaymentsDependency
from shopmesh.payments.consumers import order_handlers
from shopmesh.payments.repository import PaymentsUnitOfWork

from .support import ALICE, Payments, running


@pytest.fixture
async def payments(database_url: str) -> AsyncIterator[Payments]:
    async with running(database_url) as service:
        yield service


def order_event(kind: str, order_id: int, total: float, **fields: Any) -> EventEnvelope:
    """``order.<kind>`` as orders sends it (the fields payments reads), a new event id."""
    payload = {
        "event_id": str(uuid.uuid4()),
        "event_type": f"order.{kind}",
        "producer": "orders",
        "id": order_id,
        "customer_id": ALICE,
        "quantity": 2,
        "total_cost": total,
        "product_name": "Oak board",
        "payment_required": True,
        **fields,
    }
    return EventEnvelope.parse(orjson.dumps(payload), topic="order-events")


async def apply(payments: Payments, envelope: EventEnvelope) -> None:
    """The handler in one unit of work, as the kit's consumer runs it."""
    handlers = order_handlers(payments.provided(PaymentsDependency))
    async with payments.runtime.units(PaymentsUnitOfWork)() as uow:
        await handlers[envelope.event_type](uow, envelope)


async def kinds(payments: Payments) -> list[str]:
    return [e["event_type"] for e in await payments.events()]


async def test_order_created_delivered_twice_charges_once(payments: Payments) -> None:
    for _ in range(2):
        await apply(payments, order_event("created", 42, 39.98))
    [charge] = (await payments.list(ALICE)).json()
    assert (charge["order_id"], charge["amount"], charge["description"]) == (
        42,
        39.98,
        "Order #42 (Oak board x2)",
    )
    assert await kinds(payments) == ["transaction.created", "payment.authorized"]
    authorized = (await payments.events())[-1]
    assert (authorized["transaction_id"], authorized["_key"]) == (charge["id"], "42")


async def test_two_deliveries_at_once_still_charge_once(payments: Payments) -> None:
    results = await asyncio.gather(
        *(apply(payments, order_event("created", 7, 5)) for _ in range(4)),
        return_exceptions=True,
    )
    # A delivery that lost the race fails on the unique order id: the consumer retries it,
    # and the retry finds the charge.
    assert all(r is None or isinstance(r, IntegrityError) for r in results), results
    await apply(payments, order_event("created", 7, 5))
    assert [t["order_id"] for t in (await payments.list(ALICE)).json()] == [7]
    assert (await kinds(payments)).count("payment.authorized") == 1


async def test_an_order_of_the_seeds_flow_is_not_charged(payments: Payments) -> None:
    await apply(payments, order_event("created", 8, 5, payment_required=False))
    assert (await payments.list(ALICE)).json() == []
    assert await payments.events() == []


async def test_an_order_past_the_limit_is_declined_with_nothing_charged(
    payments: Payments,
) -> None:
    assert (await payments.create(ALICE, 995)).status_code == 201
    await apply(payments, order_event("created", 9, 10))
    assert [t["order_id"] for t in (await payments.list(ALICE)).json()] == [None]
    declined = (await payments.events())[-1]
    assert (declined["event_type"], declined["reason"]) == ("payment.declined", "limit_exceeded")


async def test_a_voided_charge_frees_the_limit_is_announced_once_and_is_not_paid(
    payments: Payments,
) -> None:
    await apply(payments, order_event("created", 1, 600))
    await apply(payments, order_event("created", 2, 300))
    for _ in range(2):
        await apply(payments, order_event("cancelled", 1, 600))
    await apply(payments, order_event("cancelled", 3, 1))  # never charged: nothing to void
    listed = {t["order_id"]: t for t in (await payments.list(ALICE)).json()}
    assert (listed[1]["is_voided"], listed[2]["is_voided"]) == (True, False)
    assert (await kinds(payments)).count("transaction.voided") == 1
    summary = await payments.client.get("/api/payments/summary", headers=payments.headers(ALICE))
    assert (summary.json()["total"], summary.json()["unpaid_total"]) == (300.0, 300.0)
    assert (await payments.create(ALICE, 700)).status_code == 201  # the room is back
    paid = (await payments.pay(ALICE)).json()
    assert paid["transactions_paid"] == 2  # the order charge left and the direct one
    listed = {t["order_id"]: t for t in (await payments.list(ALICE)).json()}
    assert (listed[1]["is_paid"], listed[2]["is_paid"]) == (False, True)
