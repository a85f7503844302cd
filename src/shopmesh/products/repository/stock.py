"""Stock and reservation queries: each decision is one conditional statement. None commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.kit.db import insert_for, rowcount
from shopmesh.products.domain import (
    Offer,
    ReservationRequest,
    ReservationStatus,
    ReservedLine,
)
from shopmesh.products.repository.tables import ProductRow, StockReservationRow

# Columns, not the ORM entity: the reservation runs on a Core connection too.
_RESERVATION_COLUMNS = tuple(cast(Table, StockReservationRow.__table__).c)
# A reservation's statements, built once (SQLAlchemy keys a statement built per call anew
# each time, about as much CPU as running it).
_OFFERS = select(ProductRow.id, ProductRow.name, ProductRow.price, ProductRow.currency).where(
    ProductRow.id.in_(bindparam("ids", expanding=True)), ProductRow.is_active.is_(True)
)
_TAKE = (
    update(ProductRow)
    .where(
        ProductRow.id == bindparam("product_id"),
        ProductRow.stock_quantity >= bindparam("quantity"),
    )
    .values(stock_quantity=ProductRow.stock_quantity - bindparam("quantity"))
    .execution_options(synchronize_session=False)
)
_CLAIMED = ("reservation_id", "product_id", "quantity", "unit_price", "currency", "name")


@cache
def _claim(dialect: str) -> Any:
    """The claim of :meth:`Stock.claim` on ``dialect``, its columns those of the parameters."""
    return (
        insert_for(dialect, StockReservationRow)
        .on_conflict_do_nothing(index_elements=["reservation_id"])
        .returning(StockReservationRow.id)
    )


def _to_line(row: Any) -> ReservedLine:
    return ReservedLine(
        reservation_id=row.reservation_id,
        product_id=row.product_id,
        quantity=row.quantity,
        unit_price=row.unit_price,
        currency=row.currency,
        name=row.name,
    )


class Stock:
    """Stock and reservations of one unit of work (on its connection)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def offers(self, product_ids: Iterable[int]) -> dict[int, Offer]:
        """The name and price of the active products among ``product_ids``, by id (only the
        columns a reservation needs: no whole product to load per order)."""
        params = {"ids": list(product_ids)}
        rows = (await self._connection.execute(_OFFERS, params)).all()
        return {
            row.id: Offer(id=row.id, name=row.name, price=row.price, currency=row.currency)
            for row in rows
        }

    async def take(self, product_id: int, *, quantity: int) -> bool:
        """Take ``quantity`` from the product's stock if it has that much; one statement, so atomic.

        On PostgreSQL the row lock makes a concurrent taker wait, then re-check the
        condition against the committed stock; SQLite runs one writer at a time.
        """
        params = {"product_id": product_id, "quantity": quantity}
        return rowcount(await self._connection.execute(_TAKE, params)) == 1

    async def give_back(self, product_id: int, *, quantity: int) -> None:
        statement = (
            update(ProductRow)
            .where(ProductRow.id == product_id)
            .values(stock_quantity=ProductRow.stock_quantity + quantity)
            .execution_options(synchronize_session=False)
        )
        await self._connection.execute(statement)

    async def levels(self, product_ids: Iterable[int]) -> dict[int, int]:
        statement = select(ProductRow.id, ProductRow.stock_quantity).where(
            ProductRow.id.in_(list(product_ids))
        )
        return {
            row.id: int(row.stock_quantity) for row in await self._connection.execute(statement)
        }

    async def reservations(self, reservation_ids: Sequence[str]) -> dict[str, ReservedLine]:
        """The reservations already made under any of ``reservation_ids`` (reserved or released)."""
        statement = select(*_RESERVATION_COLUMNS).where(
            StockReservationRow.reservation_id.in_(list(reservation_ids))
        )
        rows = (await self._connection.execute(statement)).all()
        return {row.reservation_id: _to_line(row) for row in rows}

    async def claim(self, line: ReservedLine, *, now: datetime) -> bool:
        """Record ``line`` unless its reservation id exists; False when it already did.

        On PostgreSQL a concurrent claim of the same id waits here until the first
        transaction ends, then sees its row (or claims the id if it rolled back).
        """
        row = {
            **{column: getattr(line, column) for column in _CLAIMED},
            "status": ReservationStatus.RESERVED.value,
            "created_at": now,
        }
        statement = _claim(self._connection.dialect.name)
        return (await self._connection.execute(statement, row)).first() is not None

    async def release(self, reservation_id: str, *, now: datetime) -> ReservationRequest | None:
        """Mark the reservation released if it is still reserved; returns what it held, else None.

        The status condition decides: of two concurrent releases only one matches the row.
        """
        statement = (
            update(StockReservationRow)
            .where(
                StockReservationRow.reservation_id == reservation_id,
                StockReservationRow.status == ReservationStatus.RESERVED.value,
            )
            .values(status=ReservationStatus.RELEASED.value, released_at=now)
            .returning(StockReservationRow.product_id, StockReservationRow.quantity)
            .execution_options(synchronize_session=False)
        )
        row = (await self._connection.execute(statement)).first()
        if row is None:
            return None
        return ReservationRequest(
            reservation_id=reservation_id,
            product_id=int(row.product_id),
            quantity=int(row.quantity),
        )
