"""The dispatcher's unit of work in memory (shipments and webhook deliveries), and orders as
the dispatcher relies on it: the one that decides between a dispatch and a cancel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request

from shopmesh.dispatcher.domain import (
    Delivery,
    DeliveryStatus,
    DispatchDecision,
    OrderDispatched,
    OrderSnapshot,
    Shipment,
    ShipmentStatus,
)
from shopmesh.kit.errors import ServiceUnavailable
from shopmesh.kit.jwt import TokenVerifier
from tests.fakes import FakeStore, FakeUnitOfWork
from tests.support import ISSUER, SECRET

# What orders lets ship (Paid, or Created needing no payment) and what a customer may cancel.
_DISPATCHABLE = ("Created", "Paid")
_CANCELLABLE = ("Created", "Paid", "Payment declined")


@dataclass
class FakeOrders:
    """Orders' rule on one order row: a dispatch and a cancel each change it only from the
    statuses they allow, so whichever comes first wins and the other is refused. Orders it
    was not told about are Paid (waiting to ship). In memory (:meth:`decide`, the port the
    dispatcher's use cases take) or served over HTTP (:meth:`app`, the real client's path)."""

    statuses: dict[int, str] = field(default_factory=dict)
    asked: list[list[int]] = field(default_factory=list)
    down: bool = False

    def status(self, order_id: int) -> str:
        return self.statuses.get(order_id, "Paid")

    def cancel(self, order_id: int) -> bool:
        """The customer's cancel: True when it won, False when the order had left already."""
        if self.status(order_id) not in _CANCELLABLE:
            return False
        self.statuses[order_id] = "Cancelled"
        return True

    async def decide(self, order_ids: Sequence[int]) -> DispatchDecision:
        self.asked.append(list(order_ids))
        if self.down:
            raise ServiceUnavailable("orders is unavailable")
        for order_id in order_ids:
            if self.status(order_id) in _DISPATCHABLE:
                self.statuses[order_id] = "Dispatched"
        shipped = [i for i in order_ids if self.status(i) == "Dispatched"]
        return DispatchDecision(
            dispatched=shipped, refused=[i for i in order_ids if i not in shipped]
        )

    def app(self) -> FastAPI:
        """``POST /api/orders/dispatches`` as orders serves it, for platform services only."""
        app = FastAPI()
        verifier = TokenVerifier(secret=SECRET, issuer=ISSUER)

        @app.post("/api/orders/dispatches")
        async def dispatches(request: Request) -> dict[str, list[int]]:
            assert verifier.verify_header(request.headers.get("authorization")).is_service
            decision = await self.decide((await request.json())["order_ids"])
            return decision.model_dump()

        return app


class DispatcherStore(FakeStore):
    def __init__(self) -> None:
        super().__init__()
        self.shipments: dict[int, Shipment] = {}  # by order id
        self.deliveries: dict[int, Delivery] = {}  # by id


class FakeShipments:
    """:class:`shopmesh.dispatcher.repository.Shipments` in memory."""

    def __init__(self, store: DispatcherStore) -> None:
        self._store = store

    async def add_if_missing(
        self, order: OrderSnapshot, *, status: ShipmentStatus, now: datetime, due_at: datetime
    ) -> bool:
        if order.id in self._store.shipments:
            return False
        self._store.shipments[order.id] = Shipment(
            id=len(self._store.shipments) + 1,
            order_id=order.id,
            reference=order.reference,
            customer_id=order.customer_id,
            product_id=order.product_id,
            quantity=order.quantity,
            total_cost=order.total_cost,
            status=status,
            ordered_at=order.created_at,
            created_at=now,
            due_at=due_at,
            dispatched_at=now if status is ShipmentStatus.DISPATCHED else None,
            cancelled_at=now if status is ShipmentStatus.CANCELLED else None,
        )
        return True

    async def cancel_pending(self, order_id: int, *, now: datetime) -> bool:
        shipment = self._store.shipments.get(order_id)
        if shipment is None or shipment.status is not ShipmentStatus.PENDING:
            return False
        self._store.shipments[order_id] = replace(
            shipment, status=ShipmentStatus.CANCELLED, cancelled_at=now
        )
        return True

    async def earliest_pending(self, *, limit: int) -> list[Shipment]:
        return sorted(self._pending(), key=lambda s: (s.due_at, s.id))[:limit]

    async def pending_of(self, order_ids: Sequence[int]) -> list[Shipment]:
        return [s for s in self._pending() if s.order_id in order_ids]

    async def mark_dispatched(self, order_id: int, *, now: datetime) -> Shipment | None:
        found = [s for s in self._pending() if s.order_id == order_id]
        if not found:
            return None
        shipment = replace(found[0], status=ShipmentStatus.DISPATCHED, dispatched_at=now)
        self._store.shipments[shipment.order_id] = shipment
        return shipment

    async def ship_announced(
        self, shipment: Shipment, *, announced: dict[str, Any], urls: Sequence[str], body: str
    ) -> bool:
        raise AssertionError("PostgreSQL's statement: the fake unit of work ships in ship()")

    async def of_order(self, order_id: int) -> Shipment | None:
        return self._store.shipments.get(order_id)

    async def newest_first(
        self, *, status: ShipmentStatus | None, limit: int, offset: int
    ) -> list[Shipment]:
        found = sorted(self._store.shipments.values(), key=lambda s: -s.id)
        found = [s for s in found if status in (None, s.status)]
        return found[offset : offset + limit]

    def _pending(self) -> list[Shipment]:
        return [s for s in self._store.shipments.values() if s.status is ShipmentStatus.PENDING]


class FakeDeliveries:
    """:class:`shopmesh.dispatcher.repository.Deliveries` in memory."""

    def __init__(self, store: DispatcherStore) -> None:
        self._store = store

    async def add(
        self, *, shipment_id: int, order_id: int, urls: Sequence[str], payload: str, now: datetime
    ) -> None:
        for url in urls:
            delivery_id = len(self._store.deliveries) + 1
            self._store.deliveries[delivery_id] = Delivery(
                id=delivery_id,
                shipment_id=shipment_id,
                order_id=order_id,
                url=url,
                payload=payload,
                attempts=0,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                created_at=now,
            )

    async def due_ids(self, *, now: datetime, limit: int) -> list[int]:
        due = [d for d in self._pending() if d.next_attempt_at <= now]
        return [d.id for d in sorted(due, key=lambda d: (d.next_attempt_at, d.id))[:limit]]

    async def next_attempt_at(self) -> datetime | None:
        return min((d.next_attempt_at for d in self._pending()), default=None)

    async def claim(
        self, delivery_id: int, *, now: datetime, lease_until: datetime
    ) -> Delivery | None:
        delivery = self._store.deliveries.get(delivery_id)
        if delivery is None or delivery.status is not DeliveryStatus.PENDING:
            return None
        if delivery.next_attempt_at > now:
            return None
        claimed = replace(delivery, attempts=delivery.attempts + 1, next_attempt_at=lease_until)
        self._store.deliveries[delivery_id] = claimed
        return claimed

    async def record_delivered(self, delivery_id: int, *, attempts: int, now: datetime) -> None:
        if self._still_claimed(delivery_id, attempts):
            self._change(
                delivery_id, status=DeliveryStatus.DELIVERED, delivered_at=now, last_error=None
            )

    async def record_failure(
        self, delivery_id: int, *, attempts: int, error: str, retry_at: datetime | None
    ) -> None:
        if not self._still_claimed(delivery_id, attempts):
            return
        if retry_at is None:
            self._change(delivery_id, status=DeliveryStatus.FAILED, last_error=error[:500])
        else:
            self._change(delivery_id, next_attempt_at=retry_at, last_error=error[:500])

    async def requeue_failed(self, delivery_id: int, *, now: datetime) -> bool:
        delivery = self._store.deliveries.get(delivery_id)
        if delivery is None or delivery.status is not DeliveryStatus.FAILED:
            return False
        self._change(delivery_id, status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now)
        return True

    async def get(self, delivery_id: int) -> Delivery | None:
        return self._store.deliveries.get(delivery_id)

    async def newest_first(
        self, *, status: DeliveryStatus | None, limit: int, offset: int
    ) -> list[Delivery]:
        found = sorted(self._store.deliveries.values(), key=lambda d: -d.id)
        found = [d for d in found if status in (None, d.status)]
        return found[offset : offset + limit]

    def _pending(self) -> list[Delivery]:
        return [d for d in self._store.deliveries.values() if d.status is DeliveryStatus.PENDING]

    def _still_claimed(self, delivery_id: int, attempts: int) -> bool:
        delivery = self._store.deliveries[delivery_id]
        return delivery.status is DeliveryStatus.PENDING and delivery.attempts == attempts

    def _change(self, delivery_id: int, **changes: object) -> None:
        self._store.deliveries[delivery_id] = replace(
            self._store.deliveries[delivery_id], **changes
        )


class FakeDispatcherUnitOfWork(FakeUnitOfWork):
    store: DispatcherStore

    def open_repositories(self) -> None:
        self.shipments = FakeShipments(self.store)
        self.deliveries = FakeDeliveries(self.store)

    async def ship(self, shipment: Shipment, *, urls: Sequence[str]) -> bool:
        assert shipment.dispatched_at is not None
        shipped = await self.shipments.mark_dispatched(
            shipment.order_id, now=shipment.dispatched_at
        )
        if shipped is None:
            return False
        event = OrderDispatched.of(shipped)
        self.outbox.add(event)
        await self.deliveries.add(
            shipment_id=shipped.id,
            order_id=shipped.order_id,
            urls=urls,
            payload=event.webhook_body().decode(),
            now=shipment.dispatched_at,
        )
        return True
