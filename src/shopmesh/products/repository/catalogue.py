"""Catalogue queries: products added, changed, listed. None commits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Select

from shopmesh.products.domain import Page, Product, ProductQuery, ProductSort
from shopmesh.products.repository.tables import ProductRow, to_product

_COLUMNS = tuple(cast(Table, ProductRow.__table__).c)


class Catalogue:
    """The products of one unit of work (on its connection)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, values: Mapping[str, Any], *, now: datetime) -> Product:
        """Insert a product; a duplicate sku raises ``IntegrityError``."""
        statement = (
            insert(ProductRow).values(**values, created_at=now, updated_at=now).returning(*_COLUMNS)
        )
        return to_product((await self._connection.execute(statement)).one())

    async def get(self, product_id: int) -> Product | None:
        query = select(*_COLUMNS).where(ProductRow.id == product_id)
        row = (await self._connection.execute(query)).first()
        return None if row is None else to_product(row)

    async def change(
        self, product_id: int, values: Mapping[str, Any], *, now: datetime
    ) -> Product | None:
        """Apply ``values`` to the product; ``None`` when there is none. A duplicate sku
        raises ``IntegrityError``."""
        statement = (
            update(ProductRow)
            .where(ProductRow.id == product_id)
            .values(**values, updated_at=now)
            .returning(*_COLUMNS)
            .execution_options(synchronize_session=False)
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else to_product(row)

    async def search(self, query: ProductQuery) -> Page:
        """The products matching ``query`` and how many match in all."""
        conditions = _filters(query)
        counted = select(func.count()).select_from(ProductRow).where(*conditions)
        total = int((await self._connection.execute(counted)).scalar_one())
        statement = _ordered(select(*_COLUMNS).where(*conditions), query.sort)
        if query.ids is None:
            statement = statement.limit(query.limit).offset(query.offset)
        products = [to_product(row) for row in (await self._connection.execute(statement)).all()]
        if query.ids is not None and query.sort is None:
            # Exactly the products asked for, in the order asked for.
            position = {product_id: index for index, product_id in enumerate(query.ids)}
            products.sort(key=lambda p: position[p.id])
        return Page(items=products, total=total)

    async def categories(self) -> list[str]:
        """The categories of active products, alphabetically; one spelling per category.

        The category filter ignores case, so "Kitchen" and "kitchen" are one category.
        """
        statement = (
            select(func.min(ProductRow.category))
            .where(ProductRow.is_active.is_(True), ProductRow.category.is_not(None))
            .group_by(func.lower(ProductRow.category))
        )
        names = [str(name) for name in (await self._connection.execute(statement)).scalars()]
        return sorted(names, key=lambda name: (name.casefold(), name))


def _filters(query: ProductQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if not query.include_inactive:
        conditions.append(ProductRow.is_active.is_(True))
    if query.ids is not None:
        conditions.append(ProductRow.id.in_(query.ids))
    if query.category is not None:
        conditions.append(func.lower(ProductRow.category) == query.category.lower())
    if query.text:
        columns = (ProductRow.name, ProductRow.description, ProductRow.brand)
        matches = [column.icontains(query.text, autoescape=True) for column in columns]
        conditions.append(matches[0] | matches[1] | matches[2])
    return conditions


def _ordered(statement: Select[Any], sort: ProductSort | None) -> Select[Any]:
    if sort is None:
        return statement.order_by(ProductRow.id)
    column = {
        "name": func.lower(ProductRow.name),
        "price": ProductRow.price,
        "created_at": ProductRow.created_at,
        "rating": ProductRow.rating,
    }[sort.field]
    key = column.desc() if sort.descending else column.asc()
    tie = ProductRow.id.desc() if sort.descending else ProductRow.id.asc()
    return statement.order_by(key, tie)
