"""Dispatcher use cases: record and cancel shipments from order events, dispatch due ones.

Dispatching a shipment is one transaction: the conditional status change,
the ``order.dispatched`` outbox row and the webhook deliveries commit
together or not at all, and only the instance whose UPDATE changed the row
writes them, so each order is dispatched (and announced) exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from shopmesh.dispatcher.domain import (
    OrderDispatched,
    OrderSnapshot,
    Shipment,
    ShipmentNotFound,
    ShipmentStatus,
)
from shopmesh.dispatcher.repository import deliveries, shipments
from shopmesh.dispatcher.settings import Settings
from shopmesh.kit.aio import Alarm, retrying
from shopmesh.kit.app import ServiceRuntime
from shopmesh.kit.outbox import add_events

log = logging.getLogger(__name__)

# Seconds a background loop rests after an error (usually the database being away).
PAUSE_AFTER_ERROR = 1.0
_WAKE_REGISTERED = "dispatcher_wake_registered"
_DISPATCHED_HERE = "dispatcher_dispatched_in_transaction"


def utcnow() -> datetime:
    return datetime.now(UTC)


class DispatchService:
    """Shipments: recorded by the order consumer, dispatched by :meth:`run` when due."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        *,
        settings: Settings,
        on_dispatched: Callable[[], None] = lambda: None,
    ) -> None:
        self._runtime = runtime
        self._settings = settings
        self._on_dispatched = on_dispatched
        self._alarm = Alarm(settings.poll_interval)
        self.dispatched = 0

    def notify(self) -> None:
        """Wake the dispatch loop: a shipment may be due now."""
        self._alarm.ring()

    async def record_order(self, session: AsyncSession, order: OrderSnapshot) -> bool:
        """``order.created``: a pending shipment, due after the handling delay (idempotent).

        Without a handling delay the shipment is due at once: it is recorded as
        dispatched and announced in this same transaction (the consumer's), instead
        of a second transaction of the dispatch loop right after it.
        """
        now = utcnow()
        if self._settings.handling_delay == 0:
            shipment = await shipments.add_dispatched_shipment_if_missing(session, order, now=now)
            if shipment is not None:
                await self._announce(session, shipment)
                self._count_after_commit(session)
            return shipment is not None
        due_at = now + timedelta(seconds=self._settings.handling_delay)
        created = await shipments.add_shipment_if_missing(
            session, order, status=ShipmentStatus.PENDING, now=now, due_at=due_at
        )
        if created:
            self._due_after_commit(session, due_at)
        return created

    def _due_after_commit(self, session: AsyncSession, due_at: datetime) -> None:
        """Once the consumer commits, tell the loop when this shipment is due (it wakes if
        it planned to sleep longer). The batch's later shipments are due no sooner."""
        if not session.info.get(_WAKE_REGISTERED):
            session.info[_WAKE_REGISTERED] = True
            event.listen(
                session.sync_session, "after_commit", lambda _s: self._alarm.due(due_at), once=True
            )

    def _count_after_commit(self, session: AsyncSession) -> None:
        """Once the consumer's transaction commits: count its dispatches, wake the relay (the
        consumer's transaction does not) and the webhook worker."""
        session.info[_DISPATCHED_HERE] = session.info.get(_DISPATCHED_HERE, 0) + 1
        if session.info[_DISPATCHED_HERE] > 1:
            return  # one listener per transaction

        def committed(_session: object) -> None:
            self.dispatched += session.info.pop(_DISPATCHED_HERE, 0)
            if self._runtime.relay is not None:
                self._runtime.relay.notify()
            if self._settings.webhook_urls:
                self._on_dispatched()

        def rolled_back(_session: object) -> None:
            session.info.pop(_DISPATCHED_HERE, None)

        event.listen(session.sync_session, "after_commit", committed, once=True)
        event.listen(session.sync_session, "after_rollback", rolled_back, once=True)

    async def cancel_order(self, session: AsyncSession, order: OrderSnapshot) -> None:
        """``order.cancelled``: a pending shipment is cancelled; a dispatched one stays so.

        A cancellation read before its creation (a replay, a rewound group) records
        the shipment as cancelled, so the later ``order.created`` changes nothing.
        """
        now = utcnow()
        if await shipments.cancel_pending(session, order.id, now=now):
            return
        await shipments.add_shipment_if_missing(
            session, order, status=ShipmentStatus.CANCELLED, now=now, due_at=now
        )

    async def run(self) -> None:
        """Dispatch due shipments until cancelled; survives database outages by retrying."""
        # After an error the database is likely away: pause instead of spinning.
        await retrying(self._round, what="dispatch loop", pause=PAUSE_AFTER_ERROR, log=log)

    async def _round(self) -> None:
        """Dispatch what is due, then sleep until the next pending shipment is due (at most
        ``poll_interval``: another instance's shipments, or ones left by a crash)."""
        await self.dispatch_due()
        async with self._runtime.transaction() as session:
            next_due = await shipments.next_due_at(session)
        await self._alarm.sleep(next_due)

    async def dispatch_due(self, *, now: datetime | None = None) -> int:
        """Dispatch every shipment due at ``now`` (default: the present); returns how many."""
        total = 0
        while True:
            selected, dispatched = await self._dispatch_batch(now or utcnow())
            total += dispatched
            if selected < self._settings.batch_size:
                return total

    async def _dispatch_batch(self, now: datetime) -> tuple[int, int]:
        async with self._runtime.transaction() as session:
            ids = await shipments.due_shipment_ids(
                session, now=now, limit=self._settings.batch_size
            )
        dispatched = 0
        for shipment_id in ids:
            dispatched += await self.dispatch(shipment_id)
        return len(ids), dispatched

    async def dispatch(self, shipment_id: int) -> bool:
        """Dispatch one pending shipment; False when it is no longer pending."""
        async with self._runtime.transaction() as session:
            shipment = await shipments.mark_dispatched(session, shipment_id, now=utcnow())
            if shipment is None:
                return False
            await self._announce(session, shipment)
        self.dispatched += 1
        if self._settings.webhook_urls:
            self._on_dispatched()
        return True

    async def _announce(self, session: AsyncSession, shipment: Shipment) -> None:
        """``order.dispatched`` and the webhook deliveries of a shipment that just left."""
        dispatched = OrderDispatched.of(shipment)
        await add_events(session, dispatched)
        await deliveries.add_deliveries(
            session,
            shipment_id=shipment.id,
            order_id=shipment.order_id,
            urls=self._settings.webhook_urls,
            payload=dispatched.webhook_body().decode(),
            now=shipment.dispatched_at or utcnow(),
        )

    async def list_shipments(
        self, *, status: ShipmentStatus | None, limit: int, offset: int
    ) -> list[Shipment]:
        """Shipments newest first, optionally of one status."""
        async with self._runtime.transaction() as session:
            return await shipments.list_shipments(
                session, status=status, limit=limit, offset=offset
            )

    async def shipment_of_order(self, order_id: int) -> Shipment:
        """The shipment of ``order_id`` or :class:`ShipmentNotFound`."""
        async with self._runtime.transaction() as session:
            shipment = await shipments.find_shipment_by_order(session, order_id)
        if shipment is None:
            raise ShipmentNotFound(f"no shipment for order {order_id}")
        return shipment
