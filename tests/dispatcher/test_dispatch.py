"""The dispatch loop: due shipments leave once, announced by exactly one order.dispatched."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from shopmesh.dispatcher.domain import OrderSnapshot
from shopmesh.dispatcher.repository import DispatcherUnitOfWork
from tests.support import wait_for

from .support import ORDER_FIELDS, Dispatcher, make_order, running


async def test_a_due_shipment_is_dispatched_once_with_one_order_dispatched_event(
    instant: Dispatcher,
) -> None:
    order = make_order(quantity=4, total_cost=39.96)
    await instant.apply(order)
    await instant.wait_for_status(order["id"], "dispatched")
    # Whatever runs again later finds nothing more to do.
    assert await instant.service.dispatch_due(now=datetime.now(UTC) + timedelta(hours=1)) == 0

    [shipment] = await instant.shipments(order["id"])
    [event] = await instant.events()
    assert event["_topic"] == "order-events"
    assert event["_key"] == str(order["id"])
    assert event["event_type"] == "order.dispatched"
    assert event["producer"] == "dispatcher"
    UUID(event["event_id"])
    assert set(ORDER_FIELDS) <= set(event)
    assert event["id"] == order["id"]
    assert event["reference"] == order["reference"]
    assert event["customer_id"] == order["customer_id"]
    assert event["product_id"] == order["product_id"]
    assert event["quantity"] == 4
    assert event["total_cost"] == 39.96
    assert isinstance(event["total_cost"], float)
    assert event["status"] == "Dispatched"
    assert datetime.fromisoformat(event["created_at"]) == datetime.fromisoformat(
        order["created_at"]
    )
    dispatched_at = datetime.fromisoformat(event["dispatched_at"])
    assert dispatched_at.tzinfo is not None
    assert dispatched_at >= datetime.fromisoformat(order["created_at"])
    assert shipment.dispatched_at is not None


async def test_a_shipment_waits_for_the_handling_delay(dispatcher: Dispatcher) -> None:
    order = make_order()
    await dispatcher.apply(order)

    assert await dispatcher.service.dispatch_due() == 0
    assert await dispatcher.status_of(order["id"]) == "pending"
    assert await dispatcher.service.dispatch_due(now=datetime.now(UTC) + timedelta(seconds=61)) == 1
    assert await dispatcher.status_of(order["id"]) == "dispatched"
    assert len(await dispatcher.events()) == 1


async def test_many_due_shipments_are_dispatched_in_small_batches(sqlite_url: str) -> None:
    orders = [make_order() for _ in range(7)]
    async with running(sqlite_url, handling_delay=60, batch_size=3) as service:
        await service.apply(*orders)
        later = datetime.now(UTC) + timedelta(minutes=5)
        assert await service.service.dispatch_due(now=later) == 7
        events = await service.events()
    # In the order they became due, which is the order they arrived in.
    assert [e["id"] for e in events] == [o["id"] for o in orders]


async def test_a_shipment_due_at_once_is_dispatched_without_waiting_for_the_next_poll(
    sqlite_url: str,
) -> None:
    # The loop polls only every 30 s here; the consumer's commit wakes it.
    async with running(sqlite_url, handling_delay=0, poll_interval=30) as service:
        order = make_order()
        await service.apply(order)
        await service.wait_for_status(order["id"], "dispatched", timeout=5)


async def test_a_shipment_leaves_when_it_is_due_not_at_the_next_poll(sqlite_url: str) -> None:
    # Polled only every 30 s: the loop sleeps until the shipment is due instead.
    async with running(sqlite_url, handling_delay=0.3, poll_interval=30) as service:
        order = make_order()
        await service.apply(order)
        assert await service.status_of(order["id"]) == "pending"
        await service.wait_for_status(order["id"], "dispatched", timeout=5)


async def test_an_order_redelivered_after_its_dispatch_changes_nothing(sqlite_url: str) -> None:
    # The loop polls only every 30 s: the consumer's commit wakes it.
    async with running(sqlite_url, handling_delay=0, poll_interval=30) as service:
        order = make_order()
        await service.apply(order)
        await service.wait_for_status(order["id"], "dispatched", timeout=5)
        [event] = await service.events()
        assert service.service.dispatched == 1
        # A redelivered order.created (another event id) finds the shipment and does nothing.
        await service.apply({**order, "event_id": str(uuid4())})
        assert await service.service.dispatch_due() == 0
        assert len(await service.events()) == 1
        assert service.service.dispatched == 1
        [shipment] = await service.shipments(order["id"])
    assert event["id"] == order["id"]
    assert event["status"] == "Dispatched"
    assert shipment.dispatched_at is not None
    assert datetime.fromisoformat(event["dispatched_at"]) == _aware(shipment.dispatched_at)


async def test_an_order_recorded_in_a_rolled_back_transaction_is_not_dispatched(
    sqlite_url: str,
) -> None:
    async with running(sqlite_url, handling_delay=0, poll_interval=30) as service:
        order = make_order()
        snapshot = OrderSnapshot.model_validate(order)

        async def failing_consumer_transaction() -> None:
            async with service.runtime.units(DispatcherUnitOfWork)() as uow:
                await service.service.record_order(uow, snapshot)
                raise RuntimeError("the consumer's transaction fails")

        with pytest.raises(RuntimeError, match="fails"):
            await failing_consumer_transaction()
        assert await service.status_of(order["id"]) is None
        assert await service.events() == []
        assert service.service.dispatched == 0
        await service.apply(order)
        await service.wait_for_status(order["id"], "dispatched", timeout=5)
        assert service.service.dispatched == 1


def _aware(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def test_no_webhook_urls_queue_no_deliveries(instant: Dispatcher) -> None:
    order = make_order()
    await instant.apply(order)
    await instant.wait_for_status(order["id"], "dispatched")
    assert await instant.deliveries() == []


@pytest.mark.postgres
async def test_two_dispatchers_racing_on_postgres_dispatch_each_shipment_once(
    postgres_url: str,
) -> None:
    # Due in two minutes and polled every minute: both loops idle, the race below is all.
    quiet = {"handling_delay": 120, "poll_interval": 60}
    orders = [make_order() for _ in range(40)]
    async with running(postgres_url, **quiet) as one, running(postgres_url, **quiet) as two:
        await one.apply(*orders)
        later = datetime.now(UTC) + timedelta(hours=2)
        counts = await asyncio.gather(
            one.service.dispatch_due(now=later), two.service.dispatch_due(now=later)
        )
        # And each shipment once more, head to head.
        ids = [r.order_id for r in await one.rows("SELECT order_id FROM shipment")]
        again = await asyncio.gather(
            *(one.service.dispatch([i]) for i in ids), *(two.service.dispatch([i]) for i in ids)
        )
        events = await one.events()
        statuses = {r.status for r in await one.rows("SELECT status FROM shipment")}

    assert sum(counts) == 40
    assert not any(again)
    assert statuses == {"dispatched"}
    assert sorted(e["id"] for e in events) == sorted(o["id"] for o in orders)


@pytest.mark.postgres
async def test_two_running_dispatch_loops_on_postgres_dispatch_each_shipment_once(
    postgres_url: str,
) -> None:
    fast = {"handling_delay": 0.2, "poll_interval": 0.005, "batch_size": 5}
    orders = [make_order() for _ in range(30)]
    async with running(postgres_url, **fast) as one, running(postgres_url, **fast) as two:
        await one.apply(*orders)

        async def dispatched() -> int:
            rows = await one.rows("SELECT count(*) FROM shipment WHERE status = 'dispatched'")
            return int(rows[0][0])

        await wait_for(dispatched, until=lambda n: n == 30, what="all dispatched")
        events = await one.events()
        by_loops = one.service.dispatched + two.service.dispatched

    assert by_loops == 30
    assert sorted(e["id"] for e in events) == sorted(o["id"] for o in orders)
