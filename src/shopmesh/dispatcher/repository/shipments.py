"""Shipment queries, in a unit of work; none commits.

State changes are conditional UPDATEs whose row count says whether they
happened, so several dispatcher instances on one database never dispatch a
shipment twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.dispatcher.domain import OrderSnapshot, Shipment, ShipmentStatus
from shopmesh.dispatcher.repository.tables import ShipmentRow
from shopmesh.kit.db import execute_alone, insert_for, rowcount

# Core statements RETURNING the whole row: read back in the statement that changes it.
_COLUMNS = tuple(cast(Table, ShipmentRow.__table__).c)


def _new_shipment(
    connection: AsyncConnection,
    order: OrderSnapshot,
    *,
    status: ShipmentStatus,
    now: datetime,
    due_at: datetime,
) -> Any:
    return (
        insert_for(connection, ShipmentRow)
        .values(
            order_id=order.id,
            reference=order.reference,
            customer_id=order.customer_id,
            product_id=order.product_id,
            quantity=order.quantity,
            total_cost=order.total_cost,
            status=status.value,
            ordered_at=order.created_at,
            created_at=now,
            due_at=due_at,
            dispatched_at=now if status is ShipmentStatus.DISPATCHED else None,
            cancelled_at=now if status is ShipmentStatus.CANCELLED else None,
        )
        .on_conflict_do_nothing(index_elements=["order_id"])
    )


class Shipments:
    """The shipments of one unit of work (on its connection)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_if_missing(
        self,
        order: OrderSnapshot,
        *,
        status: ShipmentStatus,
        now: datetime,
        due_at: datetime,
    ) -> bool:
        """Record the order's shipment unless one exists; True when this call created it."""
        statement = _new_shipment(self._connection, order, status=status, now=now, due_at=due_at)
        return rowcount(await self._connection.execute(statement)) == 1

    async def cancel_pending(self, order_id: int, *, now: datetime) -> bool:
        """Cancel the order's shipment if it has not left yet; True when it was cancelled now."""
        statement = (
            update(ShipmentRow)
            .where(ShipmentRow.order_id == order_id, ShipmentRow.status == ShipmentStatus.PENDING)
            .values(status=ShipmentStatus.CANCELLED.value, cancelled_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(await self._connection.execute(statement)) == 1

    async def earliest_pending(self, *, limit: int) -> list[tuple[int, datetime]]:
        """The order ids and due times of the ``limit`` pending shipments due first, in that
        order. A read that is right on its own: as its unit's first statement it commits by
        itself (no BEGIN and COMMIT round trips)."""
        query = (
            select(ShipmentRow.order_id, ShipmentRow.due_at)
            .where(ShipmentRow.status == ShipmentStatus.PENDING)
            .order_by(ShipmentRow.due_at, ShipmentRow.id)
            .limit(limit)
        )
        rows = (await execute_alone(self._connection, query)).all()
        return [(int(row.order_id), row.due_at) for row in rows]

    async def mark_dispatched(self, order_id: int, *, now: datetime) -> Shipment | None:
        """The order's shipment pending → dispatched: the shipment as it is now; None when
        another instance got there first (or there is none pending)."""
        statement = (
            update(ShipmentRow)
            .where(ShipmentRow.order_id == order_id, ShipmentRow.status == ShipmentStatus.PENDING)
            .values(status=ShipmentStatus.DISPATCHED.value, dispatched_at=now)
            .returning(*_COLUMNS)
            .execution_options(synchronize_session=False)
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else _to_shipment(row)

    async def of_order(self, order_id: int) -> Shipment | None:
        query = select(*_COLUMNS).where(ShipmentRow.order_id == order_id)
        row = (await self._connection.execute(query)).first()
        return None if row is None else _to_shipment(row)

    async def newest_first(
        self, *, status: ShipmentStatus | None, limit: int, offset: int
    ) -> list[Shipment]:
        """Shipments newest first, optionally of one status."""
        query = select(*_COLUMNS).order_by(ShipmentRow.id.desc()).limit(limit).offset(offset)
        if status is not None:
            query = query.where(ShipmentRow.status == status.value)
        return [_to_shipment(row) for row in (await self._connection.execute(query)).all()]


def _to_shipment(row: Any) -> Shipment:
    return Shipment(
        id=row.id,
        order_id=row.order_id,
        reference=row.reference,
        customer_id=row.customer_id,
        product_id=row.product_id,
        quantity=row.quantity,
        total_cost=row.total_cost,
        status=ShipmentStatus(row.status),
        ordered_at=row.ordered_at,
        created_at=row.created_at,
        due_at=row.due_at,
        dispatched_at=row.dispatched_at,
        cancelled_at=row.cancelled_at,
    )
