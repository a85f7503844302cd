"""Dispatcher database access: tables in ``tables``, queries in ``shipments`` and
``deliveries``, and the unit of work that opens both."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.dispatcher.domain import OrderDispatched, Shipment
from shopmesh.dispatcher.repository.deliveries import Deliveries
from shopmesh.dispatcher.repository.shipments import Shipments
from shopmesh.dispatcher.repository.tables import Base
from shopmesh.kit.uow import UnitOfWork

__all__ = ["Base", "Deliveries", "DispatcherUnitOfWork", "Shipments"]


class DispatcherUnitOfWork(UnitOfWork):
    """A dispatcher transaction: shipments, their webhook deliveries, the outbox."""

    shipments: Shipments
    deliveries: Deliveries

    def open_repositories(self, connection: AsyncConnection) -> None:
        self.shipments = Shipments(connection)
        self.deliveries = Deliveries(connection)

    async def ship(self, shipment: Shipment, *, urls: Sequence[str]) -> bool:
        """``shipment`` (as it is once dispatched) leaves: pending → dispatched, announced by
        ``order.dispatched`` and one webhook delivery per URL, all in this unit or none; False
        when it is no longer pending (another instance shipped it: it announces it).

        On PostgreSQL one statement does it all (no BEGIN and COMMIT around it when it is
        the unit's first); elsewhere the status change, then the events."""
        event = OrderDispatched.of(shipment)
        body = event.webhook_body().decode()
        if self.connection.dialect.name == "postgresql":
            announced = self.outbox.hand_over(event)
            return await self.shipments.ship_announced(
                shipment, announced=announced, urls=urls, body=body
            )
        assert shipment.dispatched_at is not None  # OrderDispatched.of checked it
        shipped = await self.shipments.mark_dispatched(
            shipment.order_id, now=shipment.dispatched_at
        )
        if shipped is None:
            return False
        self.outbox.add(event)
        await self.deliveries.add(
            shipment_id=shipped.id,
            order_id=shipped.order_id,
            urls=urls,
            payload=body,
            now=shipment.dispatched_at,
        )
        return True
