"""The dispatcher's use cases on a unit of work in memory: shipments recorded once, cancelled
only while pending, dispatched once with their event and webhook deliveries, and the order
events' contract enforced before anything is written."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import orjson
import pytest
from pydantic import ValidationError

from shopmesh.dispatcher.consumers import order_handlers, waits_for_payment
from shopmesh.dispatcher.domain import (
    DeliveryNotFailed,
    DeliveryNotFound,
    DeliveryStatus,
    ShipmentNotFound,
    ShipmentStatus,
)
from shopmesh.dispatcher.repository import Deliveries, Shipments
from shopmesh.dispatcher.service import DispatchService
from shopmesh.dispatcher.webhooks import WebhookNotifier
from shopmesh.kit.events import EventEnvelope
from tests.fakes import assert_same_interface, units_of

from .fakes import (
    DispatcherStore,
    FakeDeliveries,
    FakeDispatcherUnitOfWork,
    FakeOrders,
    FakeShipments,
)
from .support import cancelled, make_order, make_settings

LATER = datetime.now(UTC) + timedelta(hours=1)
URLS = ["http://127.0.0.1:1/a", "http://127.0.0.1:1/b"]


class Dispatcher:
    """The dispatch service, its webhook worker and the order handlers on one fake store."""

    def __init__(self, **settings: Any) -> None:
        self.store = DispatcherStore()
        self.settings = make_settings("sqlite+aiosqlite://", **settings)
        units = units_of(FakeDispatcherUnitOfWork, self.store)
        self.woken = 0
        self.orders = FakeOrders()
        self.service = DispatchService(
            units, orders=self.orders, settings=self.settings, on_dispatched=self._woken
        )
        self.webhooks = WebhookNotifier(units, settings=self.settings)
        self._handlers = order_handlers(self.service)
        self.units = units

    def _woken(self) -> None:
        self.woken += 1

    async def apply(self, *payloads: dict[str, Any]) -> None:
        """Handle ``payloads`` in one unit of work, as the consumer handles a batch."""
        async with self.units() as uow:
            for payload in payloads:
                envelope = EventEnvelope.parse(orjson.dumps(payload), topic="order-events")
                await self._handlers[envelope.event_type](uow, envelope)

    def shipment(self, order: dict[str, Any]) -> Any:
        return self.store.shipments.get(order["id"])


def test_the_fakes_keep_the_repositories_interfaces() -> None:
    assert_same_interface(FakeShipments, Shipments)
    assert_same_interface(FakeDeliveries, Deliveries)


def test_only_order_created_paid_and_cancelled_are_handled() -> None:
    handled = set(order_handlers(Dispatcher().service))
    assert handled == {"order.created", "order.paid", "order.cancelled"}


async def test_an_order_that_requires_payment_ships_on_order_paid_not_before() -> None:
    d = Dispatcher(handling_delay=0)
    order = make_order(quantity=1, total_cost=5)
    await d.apply({**order, "payment_required": True})
    assert d.shipment(order) is None
    await d.apply({**order, "event_type": "order.paid", "status": "Paid", "event_id": str(uuid4())})
    assert await d.service.dispatch_due() == 1
    assert d.shipment(order).status is ShipmentStatus.DISPATCHED
    assert [e.event_type for e in d.store.published] == ["order.dispatched"]


@pytest.mark.parametrize(
    ("event_type", "fields", "record_only"),
    [
        ("order.created", {"payment_required": True}, True),
        ("order.created", {"payment_required": False}, False),
        ("order.created", {}, False),  # an event from before the saga: the seeds' flow
        ("order.paid", {"payment_required": True}, False),
        ("order.cancelled", {"payment_required": True}, False),
    ],
)
def test_only_an_order_created_that_waits_for_its_payment_is_only_recorded(
    event_type: str, fields: dict[str, Any], record_only: bool
) -> None:
    order = {k: v for k, v in make_order().items() if k != "payment_required"}
    payload = {**order, **fields, "event_type": event_type}
    envelope = EventEnvelope.parse(orjson.dumps(payload), topic="order-events")
    assert waits_for_payment(envelope) is record_only


async def test_an_order_of_the_seeds_flow_ships_on_order_created() -> None:
    d = Dispatcher(handling_delay=0)
    order = make_order(quantity=1, total_cost=5)
    await d.apply({**order, "payment_required": False})
    assert await d.service.dispatch_due() == 1
    assert d.shipment(order).status is ShipmentStatus.DISPATCHED


async def test_an_order_becomes_one_pending_shipment_due_after_the_handling_delay() -> None:
    d = Dispatcher(handling_delay=60)
    order = make_order(quantity=3, total_cost=29.97)
    before = datetime.now(UTC)
    await d.apply(order)
    shipment = d.shipment(order)
    assert shipment.status is ShipmentStatus.PENDING
    assert (shipment.reference, shipment.quantity) == (order["reference"], 3)
    assert shipment.total_cost == Decimal("29.97")
    assert before + timedelta(seconds=60) <= shipment.due_at <= datetime.now(UTC) + timedelta(60)
    assert d.store.published == []


async def test_a_replay_or_a_second_event_for_the_order_keeps_the_first_shipment() -> None:
    d = Dispatcher(handling_delay=60)
    order = make_order(quantity=1)
    await d.apply(order)
    await d.apply(order, make_order(id=order["id"], quantity=7))
    assert d.shipment(order).quantity == 1
    assert len(d.store.shipments) == 1


async def test_a_shipment_cancelled_before_it_is_due_never_leaves() -> None:
    d = Dispatcher(handling_delay=60)
    order = make_order()
    await d.apply(order)
    await d.apply(cancelled(order))
    assert await d.service.dispatch_due(now=LATER) == 0
    shipment = d.shipment(order)
    assert (shipment.status, shipment.dispatched_at) == (ShipmentStatus.CANCELLED, None)
    assert shipment.cancelled_at is not None
    assert d.store.published == []


async def test_created_and_cancelled_in_one_batch_is_never_dispatched() -> None:
    d = Dispatcher(handling_delay=60)
    order = make_order()
    await d.apply(order, cancelled(order))
    assert d.shipment(order).status is ShipmentStatus.CANCELLED
    assert await d.service.dispatch_due(now=LATER) == 0


async def test_a_cancellation_read_before_its_creation_wins() -> None:
    d = Dispatcher(handling_delay=60)
    order = make_order()
    await d.apply(cancelled(order))
    await d.apply(order)
    assert d.shipment(order).status is ShipmentStatus.CANCELLED
    assert await d.service.dispatch_due(now=LATER) == 0
    assert d.store.published == []


async def test_a_due_shipment_leaves_once_with_its_event_and_one_delivery_per_url() -> None:
    d = Dispatcher(handling_delay=60, webhook_urls=URLS)
    order = make_order()
    await d.apply(order)
    assert await d.service.dispatch_due(now=LATER) == 1
    assert await d.service.dispatch_due(now=LATER) == 0
    shipment = d.shipment(order)
    assert shipment.status is ShipmentStatus.DISPATCHED
    [event] = d.store.events("order.dispatched")
    assert (event.id, event.reference, event.status) == (
        order["id"],
        order["reference"],
        "Dispatched",
    )
    assert event.dispatched_at == shipment.dispatched_at
    deliveries = sorted(d.store.deliveries.values(), key=lambda x: x.url)
    assert [x.url for x in deliveries] == URLS
    assert {x.payload for x in deliveries} == {event.webhook_body().decode()}
    assert (d.service.dispatched, d.woken) == (1, 1)


async def test_a_cancellation_after_the_dispatch_changes_nothing() -> None:
    d = Dispatcher(handling_delay=0)
    order = make_order()
    await d.apply(order)
    assert await d.service.dispatch_due() == 1
    await d.apply(cancelled(order))
    assert d.shipment(order).status is ShipmentStatus.DISPATCHED
    assert [e.event_type for e in d.store.published] == ["order.dispatched"]


async def test_without_a_handling_delay_an_order_is_due_at_once_and_leaves_once() -> None:
    d = Dispatcher(handling_delay=0, webhook_urls=URLS[:1])
    order = make_order()
    await d.apply(order)
    await d.apply({**order, "event_id": make_order()["event_id"]})  # redelivered, new event id
    assert d.shipment(order).status is ShipmentStatus.PENDING
    assert await d.service.dispatch_due() == 1
    assert await d.service.dispatch_due() == 0
    assert d.shipment(order).status is ShipmentStatus.DISPATCHED
    assert len(d.store.events("order.dispatched")) == len(d.store.deliveries) == 1
    assert (d.service.dispatched, d.woken) == (1, 1)


async def test_a_shipment_in_a_unit_that_rolls_back_is_neither_kept_nor_dispatched() -> None:
    d = Dispatcher(handling_delay=0, webhook_urls=URLS[:1])
    order = make_order()
    with pytest.raises(ValidationError):
        await d.apply(order, make_order(id="not a number"))
    assert await d.service.dispatch_due() == 0
    assert d.store.shipments == {}
    assert (d.store.published, d.service.dispatched, d.woken) == ([], 0, 0)


async def test_without_webhook_urls_nothing_is_queued_and_the_worker_sleeps_on() -> None:
    d = Dispatcher(handling_delay=0)
    await d.apply(make_order())
    assert await d.service.dispatch_due() == 1
    assert d.store.deliveries == {}
    assert (d.service.dispatched, d.woken) == (1, 0)


async def test_due_shipments_leave_in_batches_oldest_due_first() -> None:
    d = Dispatcher(handling_delay=60, batch_size=2)
    orders = [make_order() for _ in range(5)]
    for order in orders:
        await d.apply(order)
    assert await d.service.dispatch_due(now=LATER) == 5
    dispatched = [e.id for e in d.store.events("order.dispatched")]
    assert dispatched == [o["id"] for o in orders]


async def test_shipments_are_listed_newest_first_and_found_by_order() -> None:
    d = Dispatcher(handling_delay=60)
    first, second = make_order(), make_order()
    await d.apply(first, second, cancelled(second))
    listed = await d.service.list_shipments(status=None, limit=10, offset=0)
    assert [s.order_id for s in listed] == [second["id"], first["id"]]
    pending = await d.service.list_shipments(status=ShipmentStatus.PENDING, limit=10, offset=0)
    assert [s.order_id for s in pending] == [first["id"]]
    assert (await d.service.shipment_of_order(first["id"])).status is ShipmentStatus.PENDING
    with pytest.raises(ShipmentNotFound):
        await d.service.shipment_of_order(first["id"] + 1)


async def test_only_a_failed_delivery_is_queued_again_with_fresh_attempts() -> None:
    d = Dispatcher(handling_delay=0, webhook_urls=URLS[:1])
    await d.apply(make_order())
    await d.service.dispatch_due()
    [delivery] = d.store.deliveries.values()
    with pytest.raises(DeliveryNotFailed):
        await d.webhooks.retry(delivery.id)
    with pytest.raises(DeliveryNotFound):
        await d.webhooks.retry(delivery.id + 1)
    d.store.deliveries[delivery.id] = replace(delivery, status=DeliveryStatus.FAILED, attempts=5)
    assert [x.id for x in await d.webhooks.failed(limit=10, offset=0)] == [delivery.id]
    requeued = await d.webhooks.retry(delivery.id)
    assert (requeued.status, requeued.attempts) == (DeliveryStatus.PENDING, 0)
    assert await d.webhooks.failed(limit=10, offset=0) == []


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
    overrides: dict[str, Any],
) -> None:
    d = Dispatcher(handling_delay=0)
    with pytest.raises(ValidationError):
        await d.apply(make_order(**overrides))
    assert (d.store.shipments, d.store.published) == ({}, [])


async def test_an_order_event_missing_a_field_raises_and_leaves_nothing() -> None:
    d = Dispatcher(handling_delay=0)
    order = make_order()
    del order["reference"]
    with pytest.raises(ValidationError):
        await d.apply(order)
    assert d.store.shipments == {}
