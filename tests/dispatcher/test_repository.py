"""The dispatcher's statements on a real database: shipments recorded once (whatever the order
of events), changed only while pending; a delivery attempt claimed, then recorded only while
its claim holds. The same use cases as test_service.py, on SQL instead of memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from shopmesh.dispatcher.consumers import order_handlers
from shopmesh.dispatcher.domain import DeliveryStatus, ShipmentStatus
from shopmesh.dispatcher.repository import DispatcherUnitOfWork
from shopmesh.dispatcher.service import DispatchService
from shopmesh.kit.db import Database
from shopmesh.kit.events import EventEnvelope
from tests.support import migrated_database, round_trips

from .fakes import FakeOrders
from .support import cancelled, make_order, make_settings

LATER = datetime.now(UTC) + timedelta(hours=1)


class Dispatcher:
    def __init__(self, db: Database, **settings: Any) -> None:
        self.units = lambda: DispatcherUnitOfWork(db)
        self.orders = FakeOrders()
        self.service = DispatchService(
            self.units, orders=self.orders, settings=make_settings("", **settings)
        )

    async def apply(self, *payloads: dict[str, Any]) -> None:
        handlers = order_handlers(self.service)
        async with self.units() as uow:
            for payload in payloads:
                envelope = EventEnvelope.parse(orjson.dumps(payload), topic="order-events")
                await handlers[envelope.event_type](uow, envelope)

    async def shipment(self, order: dict[str, Any]) -> Any:
        async with self.units() as uow:
            return await uow.shipments.of_order(order["id"])


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(database_url, "shopmesh.dispatcher:migrations") as database:
        yield database


async def test_a_replay_or_a_second_event_for_the_order_keeps_the_first_shipment(
    db: Database,
) -> None:
    d = Dispatcher(db, handling_delay=60)
    order = make_order(quantity=1)
    await d.apply(order)
    await d.apply(order, make_order(id=order["id"], quantity=7))
    assert (await d.shipment(order)).quantity == 1


async def test_only_a_pending_shipment_is_cancelled_or_dispatched(db: Database) -> None:
    d = Dispatcher(db, handling_delay=60)
    kept, dropped, early = make_order(), make_order(), make_order()
    await d.apply(kept, dropped, cancelled(early))
    await d.apply(cancelled(dropped), early)
    assert await d.service.dispatch_due(now=LATER) == 1
    await d.apply(cancelled(kept))  # too late: it left
    statuses = [(await d.shipment(o)).status for o in (kept, dropped, early)]
    assert statuses == [
        ShipmentStatus.DISPATCHED,
        ShipmentStatus.CANCELLED,
        ShipmentStatus.CANCELLED,
    ]
    assert await d.service.dispatch_due(now=LATER) == 0


async def test_a_round_with_nothing_due_is_one_read_of_the_pending_shipments(
    db: Database,
) -> None:
    d = Dispatcher(db, handling_delay=60)
    order = make_order()
    await d.apply(order)
    due_at = (await d.shipment(order)).due_at
    with round_trips(db.engine) as sent:
        assert await d.service.dispatch_due() == 0
    # On PostgreSQL it commits by itself: no BEGIN and COMMIT round trips.
    assert sent.simple == []
    assert len([s for s in sent.statements if s.lstrip().startswith("SELECT")]) == 1
    async with d.units() as uow:
        [pending] = await uow.shipments.earliest_pending(limit=5)
    assert (pending.order_id, pending.due_at) == (order["id"], due_at)


@pytest.mark.postgres
async def test_on_postgresql_a_due_shipment_leaves_announced_in_one_statement(
    postgres_url: str,
) -> None:
    urls = ["http://127.0.0.1:1/a", "http://127.0.0.1:1/b"]
    async with migrated_database(postgres_url, "shopmesh.dispatcher:migrations") as db:
        d = Dispatcher(db, handling_delay=0, webhook_urls=urls)
        order = make_order()
        await d.apply(order)
        with round_trips(db.engine) as sent:
            assert await d.service.dispatch_due() == 1
        async with d.units() as uow:
            deliveries = await uow.deliveries.newest_first(status=None, limit=10, offset=0)
            events = (
                await uow.connection.execute(text("SELECT payload FROM outbox_message"))
            ).all()
    # The round's read, then the shipment, its event and its deliveries: no BEGIN, no COMMIT.
    assert (len(sent.statements), sent.simple) == (2, [])
    assert (await d.shipment(order)).status is ShipmentStatus.DISPATCHED
    [event] = [orjson.loads(row.payload) for row in events]
    assert (event["event_type"], event["id"]) == ("order.dispatched", order["id"])
    assert sorted(delivery.url for delivery in deliveries) == urls
    assert {orjson.loads(delivery.payload)["event_id"] for delivery in deliveries} == {
        event["event_id"]
    }


async def test_a_delivery_attempt_is_claimed_once_and_recorded_only_while_claimed(
    db: Database,
) -> None:
    d = Dispatcher(db, handling_delay=0, webhook_urls=["http://127.0.0.1:1/hook"])
    await d.apply(make_order())
    assert await d.service.dispatch_due() == 1
    now = datetime.now(UTC) + timedelta(seconds=1)
    async with d.units() as uow:
        [delivery_id] = await uow.deliveries.due_ids(now=now, limit=10)
        claimed = await uow.deliveries.claim(delivery_id, now=now, lease_until=LATER)
        assert await uow.deliveries.claim(delivery_id, now=now, lease_until=LATER) is None
    assert claimed is not None
    assert claimed.attempts == 1
    async with d.units() as uow:
        await uow.deliveries.record_failure(delivery_id, attempts=0, error="stale", retry_at=None)
        await uow.deliveries.record_failure(delivery_id, attempts=1, error="x" * 900, retry_at=None)
        failed = await uow.deliveries.get(delivery_id)
        assert await uow.deliveries.requeue_failed(delivery_id, now=now)
        assert not await uow.deliveries.requeue_failed(delivery_id, now=now)
        requeued = await uow.deliveries.get(delivery_id)
    assert failed is not None
    assert (failed.status, failed.last_error) == (DeliveryStatus.FAILED, "x" * 500)
    assert requeued is not None
    assert (requeued.status, requeued.attempts) == (DeliveryStatus.PENDING, 0)
