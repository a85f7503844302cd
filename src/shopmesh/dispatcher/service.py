"""Dispatcher use cases: record and cancel shipments from order events, dispatch due ones.

Dispatching a shipment is one transaction: the conditional status change,
the ``order.dispatched`` outbox row and the webhook deliveries commit
together or not at all, and only the instance whose UPDATE changed the row
writes them, so each order is dispatched (and announced) exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from shopmesh.dispatcher.domain import (
    OrderDispatched,
    OrderSnapshot,
    Shipment,
    ShipmentNotFound,
    ShipmentStatus,
)
from shopmesh.dispatcher.repository import DispatcherUnitOfWork
from shopmesh.dispatcher.settings import Settings
from shopmesh.kit.aio import Alarm, retrying
from shopmesh.kit.clock import utcnow

log = logging.getLogger(__name__)

# Seconds a background loop rests after an error (usually the database being away).
PAUSE_AFTER_ERROR = 1.0


class DispatchService:
    """Shipments: recorded by the order consumer, dispatched by :meth:`run` when due."""

    def __init__(
        self,
        units: Callable[[], DispatcherUnitOfWork],
        *,
        settings: Settings,
        on_dispatched: Callable[[], None] = lambda: None,
    ) -> None:
        self._units = units
        self._settings = settings
        self._on_dispatched = on_dispatched
        self._alarm = Alarm(settings.poll_interval)
        self.dispatched = 0

    def notify(self) -> None:
        """Wake the dispatch loop: a shipment may be due now."""
        self._alarm.ring()

    async def record_order(self, uow: DispatcherUnitOfWork, order: OrderSnapshot) -> bool:
        """``order.created``: a pending shipment, due after the handling delay (idempotent).

        Runs in the consumer's unit of work. Without a handling delay the shipment is due
        at once: it is recorded as dispatched and announced in this same unit, instead of
        a second one of the dispatch loop right after it.
        """
        now = utcnow()
        if self._settings.handling_delay == 0:
            shipment = await uow.shipments.add_dispatched_if_missing(order, now=now)
            if shipment is not None:
                await self._announce(uow, shipment)
                uow.after_commit(self._dispatched_one)
            return shipment is not None
        due_at = now + timedelta(seconds=self._settings.handling_delay)
        created = await uow.shipments.add_if_missing(
            order, status=ShipmentStatus.PENDING, now=now, due_at=due_at
        )
        if created:
            # The loop wakes if it planned to sleep past it (and not before it is visible).
            uow.after_commit(lambda: self._alarm.due(due_at))
        return created

    async def cancel_order(self, uow: DispatcherUnitOfWork, order: OrderSnapshot) -> None:
        """``order.cancelled``: a pending shipment is cancelled; a dispatched one stays so.

        A cancellation read before its creation (a replay, a rewound group) records
        the shipment as cancelled, so the later ``order.created`` changes nothing.
        """
        now = utcnow()
        if await uow.shipments.cancel_pending(order.id, now=now):
            return
        await uow.shipments.add_if_missing(
            order, status=ShipmentStatus.CANCELLED, now=now, due_at=now
        )

    async def run(self) -> None:
        """Dispatch due shipments until cancelled; survives database outages by retrying."""
        # After an error the database is likely away: pause instead of spinning.
        await retrying(self._round, what="dispatch loop", pause=PAUSE_AFTER_ERROR, log=log)

    async def _round(self) -> None:
        """Dispatch what is due, then sleep until the next pending shipment is due (at most
        ``poll_interval``: another instance's shipments, or ones left by a crash)."""
        await self.dispatch_due()
        async with self._units() as uow:
            next_due = await uow.shipments.next_due_at()
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
        async with self._units() as uow:
            ids = await uow.shipments.due_ids(now=now, limit=self._settings.batch_size)
        dispatched = 0
        for shipment_id in ids:
            dispatched += await self.dispatch(shipment_id)
        return len(ids), dispatched

    async def dispatch(self, shipment_id: int) -> bool:
        """Dispatch one pending shipment; False when it is no longer pending."""
        async with self._units() as uow:
            shipment = await uow.shipments.mark_dispatched(shipment_id, now=utcnow())
            if shipment is None:
                return False
            await self._announce(uow, shipment)
            uow.after_commit(self._dispatched_one)
        return True

    def _dispatched_one(self) -> None:
        """A dispatch committed: count it and wake the webhook worker."""
        self.dispatched += 1
        if self._settings.webhook_urls:
            self._on_dispatched()

    async def _announce(self, uow: DispatcherUnitOfWork, shipment: Shipment) -> None:
        """``order.dispatched`` and the webhook deliveries of a shipment that just left."""
        dispatched = OrderDispatched.of(shipment)
        uow.outbox.add(dispatched)
        await uow.deliveries.add(
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
        async with self._units() as uow:
            return await uow.shipments.newest_first(status=status, limit=limit, offset=offset)

    async def shipment_of_order(self, order_id: int) -> Shipment:
        """The shipment of ``order_id`` or :class:`ShipmentNotFound`."""
        async with self._units() as uow:
            shipment = await uow.shipments.of_order(order_id)
        if shipment is None:
            raise ShipmentNotFound(f"no shipment for order {order_id}")
        return shipment
