"""Orders tables and queries, and the orders unit of work. Nothing here commits.

Status changes are conditional UPDATEs (``... WHERE status IN (...)``):
the row lock makes a concurrent cancel and dispatch take turns, and the
second finds the condition false, so only one of them can win.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.kit.db import execute_alone, rowcount
from shopmesh.kit.idempotency import IdempotencyRecords
from shopmesh.kit.uow import UnitOfWork
from shopmesh.orders.domain import (
    CANCELLABLE,
    DISPATCHABLE,
    Order,
    OrderStatus,
    PricedLine,
    UpdatedBy,
)
from shopmesh.orders.repository.tables import (
    ORDER_TABLE,
    Base,
    OrderRow,
    ReservationIntentRow,
    idempotency_record,
)

__all__ = ["Base", "Intents", "Orders", "OrdersUnitOfWork", "idempotency_record"]

_COLUMNS = tuple(ORDER_TABLE.c)
# The statements of an order's way through the service, built once: SQLAlchemy then finds
# their compiled form by the statement's cache key computed once, where a statement built
# per call is built and keyed anew each time (about as much CPU as running it).
_ADD = insert(ORDER_TABLE).returning(*_COLUMNS, sort_by_parameter_order=True)
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_DISPATCH_ALL = (
    update(ORDER_TABLE)
    .where(OrderRow.id.in_(_IDS), OrderRow.status.in_([s.value for s in DISPATCHABLE]))
    .values(
        status=OrderStatus.DISPATCHED.value,
        updated_by=UpdatedBy.DISPATCHER.value,
        updated_at=bindparam("now"),
    )
)
_ADD_INTENT = insert(ReservationIntentRow)
_SETTLE_INTENTS = delete(ReservationIntentRow).where(
    ReservationIntentRow.reference.in_(bindparam("references", expanding=True))
)


@cache
def _by_ids(of_customer: bool) -> Any:
    query = select(*_COLUMNS).where(OrderRow.id.in_(_IDS))
    return query.where(OrderRow.customer_id == bindparam("customer_id")) if of_customer else query


@cache
def _move_statement(
    among: tuple[OrderStatus, ...], values: tuple[str, ...], of_customer: bool
) -> Any:
    """An order in one of the statuses ``among`` to ``:to`` (and each column of ``values`` to
    ``:set_<column>``), returning its row; of customer ``:of_customer`` only when
    ``of_customer``."""
    statement = (
        update(ORDER_TABLE)
        .where(OrderRow.id == bindparam("order_id"), OrderRow.status.in_([s.value for s in among]))
        .values(
            status=bindparam("to"),
            updated_by=bindparam("by"),
            updated_at=bindparam("now"),
            **{name: bindparam(f"set_{name}") for name in values},
        )
        .returning(*_COLUMNS)
    )
    if of_customer:
        statement = statement.where(OrderRow.customer_id == bindparam("of_customer"))
    return statement


def _to_order(row: Any) -> Order:
    return Order(
        id=row.id,
        reference=row.reference,
        customer_id=row.customer_id,
        product_id=row.product_id,
        product_name=row.product_name,
        quantity=row.quantity,
        per_cost=row.per_cost,
        total_cost=row.total_cost,
        currency=row.currency,
        status=OrderStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        checkout_id=row.checkout_id,
        transaction_id=row.transaction_id,
        decline_reason=row.decline_reason,
    )


class Orders:
    """The orders of one unit of work (on its connection)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(
        self, customer_id: int, lines: Sequence[PricedLine], *, checkout_id: str, now: datetime
    ) -> list[Order]:
        """Insert one Created order per line, all of checkout ``checkout_id``; returns them in
        the lines' order."""
        rows = [
            {
                "reference": line.reference,
                "customer_id": customer_id,
                "product_id": line.product_id,
                "product_name": line.product_name,
                "quantity": line.quantity,
                "per_cost": line.per_cost,
                "total_cost": line.total_cost,
                "currency": line.currency,
                "status": OrderStatus.CREATED.value,
                "created_at": now,
                "updated_at": now,
                "updated_by": UpdatedBy.CUSTOMER.value,
                "checkout_id": checkout_id,
            }
            for line in lines
        ]
        result = await self._connection.execute(_ADD, rows)
        return [_to_order(row) for row in result.all()]

    async def of_customer(
        self,
        customer_id: int,
        *,
        status: OrderStatus | None,
        limit: int,
        offset: int,
    ) -> list[Order]:
        """The customer's orders, newest first."""
        query = select(*_COLUMNS).where(OrderRow.customer_id == customer_id)
        if status is not None:
            query = query.where(OrderRow.status == status.value)
        query = query.order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
        rows = (await self._connection.execute(query.limit(limit).offset(offset))).all()
        return [_to_order(row) for row in rows]

    async def get(self, order_id: int, *, customer_id: int | None = None) -> Order | None:
        """The order, if it exists (and, given ``customer_id``, belongs to that customer)."""
        query = select(*_COLUMNS).where(OrderRow.id == order_id)
        if customer_id is not None:
            query = query.where(OrderRow.customer_id == customer_id)
        row = (await self._connection.execute(query)).first()
        return None if row is None else _to_order(row)

    async def by_ids(self, customer_id: int | None, ids: Sequence[int]) -> list[Order]:
        """The customer's (or, given ``None``, anyone's) orders among ``ids``, in the order of
        ``ids``. The first statement of a unit runs alone (no BEGIN and COMMIT round trips):
        a read is right on its own."""
        params = {"ids": list(ids), "customer_id": customer_id}
        rows = (
            await execute_alone(self._connection, _by_ids(customer_id is not None), params)
        ).all()
        found = {row.id: _to_order(row) for row in rows}
        return [found[i] for i in ids if i in found]

    async def _move(
        self,
        order_id: int,
        *,
        to: OrderStatus,
        by: UpdatedBy,
        now: datetime,
        customer_id: int | None = None,
        among: Sequence[OrderStatus] = (OrderStatus.CREATED,),
        **values: Any,
    ) -> Order | None:
        """Move an order in one of the statuses ``among`` to ``to`` (setting ``values`` too);
        ``None`` when it is not (or no longer) in one of them."""
        statement = _move_statement(tuple(among), tuple(sorted(values)), customer_id is not None)
        params = {
            "order_id": order_id,
            "to": to.value,
            "by": by.value,
            "now": now,
            "of_customer": customer_id,
            **{f"set_{name}": value for name, value in values.items()},
        }
        row = (await self._connection.execute(statement, params)).first()
        return None if row is None else _to_order(row)

    async def cancel(self, order_id: int, *, customer_id: int, now: datetime) -> Order | None:
        """Cancel the customer's order if it is not dispatched (nor cancelled) yet."""
        return await self._move(
            order_id,
            to=OrderStatus.CANCELLED,
            by=UpdatedBy.CUSTOMER,
            now=now,
            customer_id=customer_id,
            among=CANCELLABLE,
        )

    async def mark_paid(
        self, order_id: int, *, transaction_id: int | None, now: datetime
    ) -> Order | None:
        """A Created order becomes Paid by ``transaction_id``; ``None`` if it is not Created."""
        return await self._move(
            order_id,
            to=OrderStatus.PAID,
            by=UpdatedBy.PAYMENTS,
            now=now,
            transaction_id=transaction_id,
        )

    async def mark_declined(self, order_id: int, *, reason: str, now: datetime) -> Order | None:
        """A Created order's payment was declined; ``None`` if it is not Created."""
        return await self._move(
            order_id,
            to=OrderStatus.PAYMENT_DECLINED,
            by=UpdatedBy.PAYMENTS,
            now=now,
            decline_reason=reason,
        )

    async def mark_all_dispatched(self, order_ids: Sequence[int], *, now: datetime) -> None:
        """Orders' dispatch decision: mark the orders among ``order_ids`` that may be shipped
        (Paid, or Created when no payment was required) Dispatched, in one statement (a
        cancelled one stays so; a dispatched or unknown one is left as it is). It is right on
        its own, so as the first statement of a unit it commits by itself: no BEGIN and COMMIT
        round trips."""
        params = {"ids": sorted(set(order_ids)), "now": now}
        await execute_alone(self._connection, _DISPATCH_ALL, params)


class Intents:
    """Reservation intents of one unit of work (on its connection)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, references: Sequence[str], *, now: datetime) -> None:
        """Record the intents in one statement; as its unit's first, it commits by itself (a
        unit of this statement only saves BEGIN and COMMIT: it is durable before the call
        to products that it is there for)."""
        rows = [{"reference": r, "created_at": now} for r in references]
        await execute_alone(self._connection, _ADD_INTENT, rows)

    async def settle(self, references: Sequence[str]) -> bool:
        """Delete the intents of orders being recorded; False if one was already reclaimed."""
        params = {"references": list(references)}
        return rowcount(await self._connection.execute(_SETTLE_INTENTS, params)) == len(references)

    async def stale(self, *, before: datetime, limit: int) -> list[str]:
        """Intents older than ``before``, locked (skipping ones another instance holds)."""
        query = (
            select(ReservationIntentRow.reference)
            .where(ReservationIntentRow.created_at < before)
            .order_by(ReservationIntentRow.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self._connection.execute(query)).scalars())

    async def drop(self, reference: str) -> None:
        await self._connection.execute(
            delete(ReservationIntentRow).where(ReservationIntentRow.reference == reference)
        )


class OrdersUnitOfWork(UnitOfWork):
    """An orders use case's transaction: orders, reservation intents, idempotency records."""

    orders: Orders
    intents: Intents
    idempotency: IdempotencyRecords

    def open_repositories(self, connection: AsyncConnection) -> None:
        self.orders = Orders(connection)
        self.intents = Intents(connection)
        self.idempotency = IdempotencyRecords(connection, idempotency_record)
