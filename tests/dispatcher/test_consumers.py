"""The order-events handlers: shipments recorded once, cancelled only while still pending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from shopmesh.dispatcher.consumers import order_handlers

from .support import Dispatcher, cancelled, make_order


async def test_order_created_records_one_pending_shipment(dispatcher: Dispatcher) -> None:
    order = make_order(quantity=3, total_cost=29.97)
    before = datetime.now(UTC)
    await dispatcher.apply(order)

    [shipment] = await dispatcher.shipments(order["id"])
    assert shipment.status == "pending"
    assert shipment.reference == order["reference"]
    assert (shipment.customer_id, shipment.product_id) == (
        order["customer_id"],
        order["product_id"],
    )
    assert shipment.quantity == 3
    assert Decimal(str(shipment.total_cost)) == Decimal("29.97")
    assert shipment.dispatched_at is None
    # Due after the handling delay (60 s in this fixture), counted from when it was recorded.
    due_at = datetime.fromisoformat(str(shipment.due_at)).replace(tzinfo=UTC)
    assert before + timedelta(seconds=59) < due_at < datetime.now(UTC) + timedelta(seconds=61)


async def test_a_replayed_event_and_a_second_event_for_the_order_keep_one_shipment(
    dispatcher: Dispatcher,
) -> None:
    order = make_order(quantity=1)
    await dispatcher.apply(order)
    await dispatcher.apply(order)
    await dispatcher.apply(
        {**make_order(id=order["id"], quantity=9), "event_id": order["event_id"]}
    )
    await dispatcher.apply(make_order(id=order["id"], quantity=7))

    [shipment] = await dispatcher.shipments(order["id"])
    assert shipment.quantity == 1  # the first one counts


async def test_cancelled_before_due_is_never_dispatched(dispatcher: Dispatcher) -> None:
    order = make_order()
    await dispatcher.apply(order)
    await dispatcher.apply(cancelled(order))

    # Long after the handling delay, the dispatcher finds nothing to dispatch.
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await dispatcher.service.dispatch_due(now=later) == 0
    [shipment] = await dispatcher.shipments(order["id"])
    assert shipment.status == "cancelled"
    assert shipment.cancelled_at is not None
    assert shipment.dispatched_at is None
    assert await dispatcher.events() == []


async def test_cancelled_after_dispatch_stays_dispatched(instant: Dispatcher) -> None:
    order = make_order()
    await instant.apply(order)
    await instant.wait_for_status(order["id"], "dispatched")

    await instant.apply(cancelled(order))

    [shipment] = await instant.shipments(order["id"])
    assert shipment.status == "dispatched"
    assert shipment.cancelled_at is None
    assert [e["event_type"] for e in await instant.events()] == ["order.dispatched"]


async def test_created_and_cancelled_in_one_batch_is_never_dispatched(
    dispatcher: Dispatcher,
) -> None:
    order = make_order()
    await dispatcher.apply(order, cancelled(order))

    assert await dispatcher.status_of(order["id"]) == "cancelled"
    assert await dispatcher.service.dispatch_due(now=datetime.now(UTC) + timedelta(hours=1)) == 0


async def test_a_cancellation_read_before_its_creation_wins(dispatcher: Dispatcher) -> None:
    order = make_order()
    await dispatcher.apply(cancelled(order))
    await dispatcher.apply(order)

    assert await dispatcher.status_of(order["id"]) == "cancelled"
    assert await dispatcher.service.dispatch_due(now=datetime.now(UTC) + timedelta(hours=1)) == 0
    assert await dispatcher.events() == []


async def test_our_own_order_dispatched_event_is_not_handled(dispatcher: Dispatcher) -> None:
    assert set(order_handlers(dispatcher.service)) == {"order.created", "order.cancelled"}


@pytest.mark.parametrize(
    "overrides",
    [
        {"id": "12"},
        {"id": 0},
        {"id": True},
        {"customer_id": None},
        {"product_id": -1},
        {"quantity": 0},
        {"quantity": 2.5},
        {"total_cost": "19.98"},
        {"total_cost": 1.234},
        {"total_cost": -1},
        {"total_cost": 10**11},
        {"reference": ""},
        {"created_at": "yesterday"},
    ],
)
async def test_an_order_event_breaking_the_contract_raises_and_leaves_nothing(
    dispatcher: Dispatcher, overrides: dict[str, Any]
) -> None:
    order = make_order(**overrides)
    with pytest.raises(ValidationError):
        await dispatcher.apply(order)
    assert await dispatcher.rows("SELECT id FROM shipment") == []


async def test_a_missing_field_raises(dispatcher: Dispatcher) -> None:
    order = make_order()
    del order["reference"]
    with pytest.raises(ValidationError):
        await dispatcher.apply(order)
    assert await dispatcher.rows("SELECT id FROM shipment") == []
