"""Shipment queries, in a unit of work; none commits.

State changes are conditional UPDATEs whose row count says whether they
happened, so several dispatcher instances on one database never dispatch a
shipment twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, Text, bindparam, func, literal, select, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.dispatcher.domain import DeliveryStatus, OrderSnapshot, Shipment, ShipmentStatus
from shopmesh.dispatcher.repository.tables import ShipmentRow, WebhookDeliveryRow
from shopmesh.kit.db import execute_alone, insert_for, rowcount
from shopmesh.kit.outbox import announced_by

# Core statements RETURNING the whole row: read back in the statement that changes it.
_COLUMNS = tuple(cast(Table, ShipmentRow.__table__).c)


@cache
def _new_shipment(dialect: str) -> Any:
    """A shipment unless its order has one, its columns those of the parameters; built once
    per dialect (SQLAlchemy keys a statement built per call anew each time)."""
    return insert_for(dialect, ShipmentRow).on_conflict_do_nothing(index_elements=["order_id"])


@cache
def _earliest_pending(limit: int) -> Any:
    return (
        select(*_COLUMNS)
        .where(ShipmentRow.status == ShipmentStatus.PENDING.value)
        .order_by(ShipmentRow.due_at, ShipmentRow.id)
        .limit(limit)
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
        row = {
            "order_id": order.id,
            "reference": order.reference,
            "customer_id": order.customer_id,
            "product_id": order.product_id,
            "quantity": order.quantity,
            "total_cost": order.total_cost,
            "status": status.value,
            "ordered_at": order.created_at,
            "created_at": now,
            "due_at": due_at,
            "dispatched_at": now if status is ShipmentStatus.DISPATCHED else None,
            "cancelled_at": now if status is ShipmentStatus.CANCELLED else None,
        }
        statement = _new_shipment(self._connection.dialect.name)
        return rowcount(await self._connection.execute(statement, row)) == 1

    async def cancel_pending(self, order_id: int, *, now: datetime) -> bool:
        """Cancel the order's shipment if it has not left yet; True when it was cancelled now."""
        statement = (
            update(ShipmentRow)
            .where(ShipmentRow.order_id == order_id, ShipmentRow.status == ShipmentStatus.PENDING)
            .values(status=ShipmentStatus.CANCELLED.value, cancelled_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(await self._connection.execute(statement)) == 1

    async def earliest_pending(self, *, limit: int) -> list[Shipment]:
        """The ``limit`` pending shipments due first, in that order. A read that is right on
        its own: as its unit's first statement it commits by itself (no BEGIN and COMMIT
        round trips)."""
        rows = (await execute_alone(self._connection, _earliest_pending(limit))).all()
        return [_to_shipment(row) for row in rows]

    async def pending_of(self, order_ids: Sequence[int]) -> list[Shipment]:
        """The pending shipments of ``order_ids`` (read alone, as :meth:`earliest_pending`)."""
        query = select(*_COLUMNS).where(
            ShipmentRow.order_id.in_(list(order_ids)),
            ShipmentRow.status == ShipmentStatus.PENDING,
        )
        return [_to_shipment(row) for row in (await execute_alone(self._connection, query)).all()]

    async def ship_announced(
        self, shipment: Shipment, *, announced: dict[str, Any], urls: Sequence[str], body: str
    ) -> bool:
        """PostgreSQL: ``shipment`` (as it is once dispatched) pending → dispatched, its
        ``order.dispatched`` outbox row (``announced``) and one webhook delivery of ``body``
        per URL, in one statement: all or nothing, and nothing when it is no longer pending
        (another instance shipped it). As its unit's first statement it commits by itself.
        True when this call shipped it."""
        params = {
            "shipped": shipment.order_id,
            "now": shipment.dispatched_at,
            "urls": list(urls),
            "body": body,
            **announced,
        }
        result = await execute_alone(self._connection, _ship_announced(), params)
        return result.first() is not None

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


@cache
def _ship_announced() -> Any:
    """The statement of :meth:`Shipments.ship_announced`, built once."""
    shipments = cast(Table, ShipmentRow.__table__)
    now = bindparam("now", type_=shipments.c.dispatched_at.type)
    moved = (
        update(shipments)
        .where(
            shipments.c.order_id == bindparam("shipped", type_=shipments.c.order_id.type),
            shipments.c.status == ShipmentStatus.PENDING.value,
        )
        .values(status=ShipmentStatus.DISPATCHED.value, dispatched_at=now)
        .returning(shipments.c.id, shipments.c.order_id)
        .cte("moved")
    )
    deliveries = cast(Table, WebhookDeliveryRow.__table__)
    urls = func.unnest(bindparam("urls", type_=ARRAY(Text))).table_valued("url")
    urls = urls.render_derived(name="urls")
    hooks = select(
        moved.c.id,
        moved.c.order_id,
        urls.c.url,
        bindparam("body", type_=Text),
        literal(0),
        literal(DeliveryStatus.PENDING.value),
        now,
        now,
    ).select_from(moved.join(urls, true()))
    delivered = (
        deliveries.insert()
        .from_select(
            [
                "shipment_id",
                "order_id",
                "url",
                "payload",
                "attempts",
                "status",
                "next_attempt_at",
                "created_at",
            ],
            hooks,
        )
        .returning(deliveries.c.id)
    ).cte("delivered")
    return select(moved.c.id).add_cte(announced_by(moved)).add_cte(delivered)
