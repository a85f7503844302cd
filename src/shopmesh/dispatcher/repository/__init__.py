"""Dispatcher database access: tables in ``tables``, queries in ``shipments`` and
``deliveries``, and the unit of work that opens both."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

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
