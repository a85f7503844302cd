"""The hub's fan-out and the live listener's handling of one message (no Kafka here)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from shopmesh.orders.domain import OrderStatus, StatusChange
from shopmesh.orders.live import LiveListener, StatusHub
from shopmesh.orders.repository import OrdersUnitOfWork

from .support import (
    ALICE,
    BOB,
    Fakes,
    Orders,
    dispatched_message,
    orders_to_dispatch,
    running,
    served,
    status_stream,
)

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def change(order_id: int, customer_id: int = ALICE) -> StatusChange:
    return StatusChange(order_id, customer_id, OrderStatus.CREATED, NOW)


async def test_the_hub_hands_a_change_only_to_its_customers_streams() -> None:
    hub = StatusHub()
    with hub.subscribe(ALICE) as alice, hub.subscribe(BOB) as bob:
        assert hub.publish(change(1, ALICE)) == 1

        assert await alice.next(timeout=1) == change(1, ALICE)
        assert await bob.next(timeout=0.01) is None
    assert hub.subscribers() == 0


async def test_a_slow_stream_is_dropped_and_the_others_keep_up() -> None:
    hub = StatusHub(queue_size=2)
    with hub.subscribe(ALICE) as slow, hub.subscribe(ALICE) as quick:
        for order_id in (1, 2):
            hub.publish(change(order_id))
            assert await quick.next(timeout=1) == change(order_id)

        assert hub.publish(change(3)) == 1  # slow's queue is full: only quick takes it

        assert slow.dropped
        assert not quick.dropped
        assert hub.subscribers(ALICE) == 1
        assert await quick.next(timeout=1) == change(3)
        hub.publish(change(4))
        assert [await slow.next(timeout=0.01) for _ in range(3)] == [change(1), change(2), None]


def message(event_type: str, **payload: Any) -> bytes:
    envelope = {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "dispatcher",
    }
    return orjson.dumps(envelope | payload)


@pytest.fixture
async def service(sqlite_url: str, fakes: Fakes) -> AsyncIterator[Orders]:
    async with running(sqlite_url, fakes.urls()) as orders:
        yield orders


def listener_of(orders: Orders, hub: StatusHub) -> LiveListener:
    return LiveListener(
        orders.runtime.units(OrdersUnitOfWork),
        hub,
        bootstrap="unused:1",
        group_id="test",
        topic="order-events",
    )


async def test_a_dispatch_is_told_to_the_customer_as_orders_reads_it(
    service: Orders, fakes: Fakes
) -> None:
    placed = await service.place_one(ALICE, fakes.products.add("Tea", "1.00"))
    assert await service.confirm_dispatch(placed) == [placed["id"]]  # before the dispatcher ships
    hub = StatusHub()
    with hub.subscribe(ALICE) as subscription:
        told = await listener_of(service, hub).handle(dispatched_message(placed))

        assert told is not None
        assert (told.order_id, told.status) == (placed["id"], OrderStatus.DISPATCHED)
        assert await subscription.next(timeout=1) == told
    order = (await service.get(ALICE, placed["id"])).json()
    assert (order["status"], order["updated_by"]) == ("Dispatched", "dispatcher")
    assert datetime.fromisoformat(order["updated_at"]) == told.updated_at


async def test_a_dispatch_orders_did_not_decide_is_not_told_and_changes_nothing(
    service: Orders, fakes: Fakes
) -> None:
    placed = await service.place_one(ALICE, fakes.products.add("Tea", "1.00"))
    hub = StatusHub()
    with hub.subscribe(ALICE) as subscription:
        assert await listener_of(service, hub).handle(dispatched_message(placed)) is None
        assert await subscription.next(timeout=0.01) is None
    assert (await service.get(ALICE, placed["id"])).json()["status"] == "Created"


async def test_a_dispatch_of_a_cancelled_order_is_not_told(service: Orders, fakes: Fakes) -> None:
    placed = await service.place_one(ALICE, fakes.products.add("Tea", "1.00"))
    await service.cancel(ALICE, placed["id"])
    hub = StatusHub()
    with hub.subscribe(ALICE) as subscription:
        assert await listener_of(service, hub).handle(dispatched_message(placed)) is None
        assert await subscription.next(timeout=0.01) is None
    assert (await service.get(ALICE, placed["id"])).json()["status"] == "Cancelled"


async def test_created_and_cancelled_events_are_told_to_their_customer(service: Orders) -> None:
    hub = StatusHub()
    listener = listener_of(service, hub)
    common = {"id": 7, "customer_id": BOB, "created_at": NOW.isoformat()}

    created = await listener.handle(message("order.created", status="Created", **common))
    cancelled = await listener.handle(
        message("order.cancelled", status="Cancelled", updated_at="2025-05-01T12:05:00Z", **common)
    )

    assert created == StatusChange(7, BOB, OrderStatus.CREATED, NOW)
    assert cancelled is not None
    assert (cancelled.status, cancelled.updated_at.minute) == (OrderStatus.CANCELLED, 5)


async def test_a_fetched_batch_is_applied_at_once_and_told_in_the_messages_order(
    service: Orders, fakes: Fakes
) -> None:
    first, second, cancelled, unknown = await orders_to_dispatch(service, fakes)
    await service.confirm_dispatch(first, second, cancelled)
    hub = StatusHub()
    created = message(
        "order.created", status="Created", id=7, customer_id=ALICE, created_at=NOW.isoformat()
    )
    batch = [
        dispatched_message(second),
        b"not json",
        created,
        dispatched_message(first),
        dispatched_message(cancelled),
        dispatched_message(unknown),
        dispatched_message(second),  # a repeat: still Dispatched when read back
    ]
    with hub.subscribe(ALICE) as subscription:
        told = await listener_of(service, hub).handle_many(batch)
        heard = [await subscription.next(timeout=1) for _ in range(4)]
        assert await subscription.next(timeout=0.01) is None

    assert [(c.order_id, c.status) if c else None for c in told] == [
        (second["id"], OrderStatus.DISPATCHED),
        None,
        (7, OrderStatus.CREATED),
        (first["id"], OrderStatus.DISPATCHED),
        None,
        None,
        (second["id"], OrderStatus.DISPATCHED),
    ]
    assert heard == [c for c in told if c is not None]
    for placed, status in ((first, "Dispatched"), (second, "Dispatched"), (cancelled, "Cancelled")):
        assert (await service.get(ALICE, placed["id"])).json()["status"] == status


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"",
        b"not json",
        b"[1, 2]",
        message("order.dispatched"),
        message("order.dispatched", id="seven"),
        message("order.created", id=1),
        message("payment.made", id=1),
    ],
    # Named, not shown: a message carries a random id and the time (pytest-xdist's workers
    # must collect the same test names).
    ids=[
        "none",
        "empty",
        "not json",
        "not an object",
        "dispatched without id",
        "dispatched with a text id",
        "created",
        "payment made",
    ],
)
async def test_unusable_messages_are_skipped(service: Orders, value: bytes | None) -> None:
    assert await listener_of(service, StatusHub()).handle(value) is None


async def test_a_stream_sees_dispatched_when_the_listener_hears_it(
    sqlite_url: str, fakes: Fakes
) -> None:
    async with served(sqlite_url, fakes.urls()) as orders:
        placed = await orders.place_one(ALICE, fakes.products.add("Tea", "1.00"))
        listener = listener_of(orders, orders.hub)
        async with status_stream(orders, ALICE) as stream:
            await orders.confirm_dispatch(placed)
            await listener.handle(dispatched_message(placed))

            kind, data = await stream.next_event()

            assert (kind, data["order_id"], data["status"]) == (
                "status",
                placed["id"],
                "Dispatched",
            )
            assert (await orders.get(ALICE, placed["id"])).json()["updated_at"] == data[
                "updated_at"
            ]
