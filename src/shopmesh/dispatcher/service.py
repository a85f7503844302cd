"""Dispatcher use cases: record and cancel shipments from order events, dispatch due ones.

Orders decides whether an order ships: a due shipment leaves only once orders
has marked its order Dispatched (one conditional UPDATE on the order row, which
a cancel committed first makes fail), and a refused one is cancelled. So a cancel
racing the dispatch ends in exactly one outcome. Asking is idempotent and
happens after the shipment is durably pending, so a crash anywhere is finished
by the next round of the dispatch loop.

Dispatching an order is then atomic (on PostgreSQL one statement): the conditional
status change, the ``order.dispatched`` outbox row and the webhook deliveries commit
together or not at all, and only the instance whose UPDATE changed the row writes
them, so each order is dispatched (and announced) exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from shopmesh.dispatcher.domain import (
    DispatchDecision,
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


class OrderAuthority(Protocol):
    """Orders, which decides whether an order ships (:class:`~.remote.OrdersClient`)."""

    async def decide(self, order_ids: Sequence[int]) -> DispatchDecision: ...


class DispatchService:
    """Shipments: recorded by the order consumer, dispatched by :meth:`run` when due."""

    def __init__(
        self,
        units: Callable[[], DispatcherUnitOfWork],
        *,
        orders: OrderAuthority,
        settings: Settings,
        on_dispatched: Callable[[], None] = lambda: None,
    ) -> None:
        self._units = units
        self._orders = orders
        self._settings = settings
        self._on_dispatched = on_dispatched
        self._alarm = Alarm(settings.poll_interval)
        self.dispatched = 0

    def notify(self) -> None:
        """Wake the dispatch loop: a shipment may be due now."""
        self._alarm.ring()

    async def record_order(self, uow: DispatcherUnitOfWork, order: OrderSnapshot) -> bool:
        """``order.paid`` (or ``order.created`` needing no payment): a pending shipment, due
        after the handling delay (idempotent). Runs in the consumer's unit of work; once it
        commits, the dispatch loop is woken if the shipment is due before it would look
        (at once, without a handling delay)."""
        now = utcnow()
        due_at = now + timedelta(seconds=self._settings.handling_delay)
        created = await uow.shipments.add_if_missing(
            order, status=ShipmentStatus.PENDING, now=now, due_at=due_at
        )
        if created:
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
        ``poll_interval``: another instance's shipments, or ones left by a crash; one this
        instance records meanwhile wakes it, see :class:`~shopmesh.kit.aio.Alarm`)."""
        _, next_due = await self._dispatch_due(None)
        await self._alarm.sleep(next_due)

    async def dispatch_due(self, *, now: datetime | None = None) -> int:
        """Dispatch every shipment due at ``now`` (default: the present) that orders confirms;
        returns how many left."""
        return (await self._dispatch_due(now))[0]

    async def _dispatch_due(self, now: datetime | None) -> tuple[int, datetime | None]:
        """Dispatch what is due: how many left, and when the earliest pending shipment not
        due yet is due (None: none was seen). One read a batch tells both."""
        total = 0
        while True:
            async with self._units() as uow:
                pending = await uow.shipments.earliest_pending(limit=self._settings.batch_size)
            at = now or utcnow()
            due = [shipment for shipment in pending if shipment.due_at <= at]
            later = next((s.due_at for s in pending if s.due_at > at), None)
            if not due:
                return total, later
            settled, dispatched = await self._settle(due)
            total += dispatched
            # A batch all due may have more behind it; one orders answered nothing for would
            # come back at once (it waits for the next round instead).
            if later is not None or len(pending) < self._settings.batch_size or not settled:
                return total, later

    async def dispatch(self, order_ids: Sequence[int]) -> int:
        """Dispatch the pending shipments of ``order_ids`` that orders confirms (refused ones
        are cancelled); returns how many left now."""
        async with self._units() as uow:
            pending = await uow.shipments.pending_of(order_ids)
        return (await self._settle(pending))[1] if pending else 0

    async def _settle(self, shipments: Sequence[Shipment]) -> tuple[int, int]:
        """Ask orders about ``shipments`` (no transaction held open meanwhile), then ship the
        confirmed (each atomically with its announcements) and cancel the refused:
        (settled, dispatched)."""
        decision = await self._orders.decide([s.order_id for s in shipments])
        confirmed = set(decision.dispatched)
        now = utcnow()
        dispatched = 0
        async with self._units() as uow:
            for shipment in shipments:
                if shipment.order_id not in confirmed:
                    continue
                shipped = replace(shipment, status=ShipmentStatus.DISPATCHED, dispatched_at=now)
                if await uow.ship(shipped, urls=self._settings.webhook_urls):
                    uow.after_commit(self._dispatched_one)
                    dispatched += 1
                # else another instance shipped it first (and announced it)
            for order_id in decision.refused:
                await uow.shipments.cancel_pending(order_id, now=now)
        return len(decision.dispatched) + len(decision.refused), dispatched

    def _dispatched_one(self) -> None:
        """A dispatch committed: count it and wake the webhook worker."""
        self.dispatched += 1
        if self._settings.webhook_urls:
            self._on_dispatched()

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
