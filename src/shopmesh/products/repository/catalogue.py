"""Catalogue queries: products added, changed, listed. None commits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement, Select

from shopmesh.products.domain import Page, Product, ProductQuery, ProductSort
from shopmesh.products.repository.tables import ProductRow, to_product


async def add_product(
    session: AsyncSession, values: Mapping[str, Any], *, now: datetime
) -> Product:
    """Insert a product; a duplicate sku raises ``IntegrityError`` at the flush."""
    row = ProductRow(**values, created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    return to_product(row)


async def get_product_row(session: AsyncSession, product_id: int) -> ProductRow | None:
    return await session.get(ProductRow, product_id)


async def change_product(
    session: AsyncSession, row: ProductRow, values: Mapping[str, Any], *, now: datetime
) -> Product:
    """Apply ``values`` to the product; a duplicate sku raises ``IntegrityError`` at the flush."""
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = now
    await session.flush()
    return to_product(row)


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


async def list_products(session: AsyncSession, query: ProductQuery) -> Page:
    """The products matching ``query`` and how many match in all."""
    conditions = _filters(query)
    counted = select(func.count()).select_from(ProductRow).where(*conditions)
    total = int((await session.execute(counted)).scalar_one())
    statement = _ordered(select(ProductRow).where(*conditions), query.sort)
    if query.ids is None:
        statement = statement.limit(query.limit).offset(query.offset)
    rows = (await session.execute(statement)).scalars().all()
    products = [to_product(row) for row in rows]
    if query.ids is not None and query.sort is None:
        # Exactly the products asked for, in the order asked for.
        position = {product_id: index for index, product_id in enumerate(query.ids)}
        products.sort(key=lambda p: position[p.id])
    return Page(items=products, total=total)


async def list_categories(session: AsyncSession) -> list[str]:
    """The categories of active products, alphabetically; one spelling per category.

    The category filter ignores case, so "Kitchen" and "kitchen" are one category.
    """
    statement = (
        select(func.min(ProductRow.category))
        .where(ProductRow.is_active.is_(True), ProductRow.category.is_not(None))
        .group_by(func.lower(ProductRow.category))
    )
    names = [str(name) for name in (await session.execute(statement)).scalars()]
    return sorted(names, key=lambda name: (name.casefold(), name))
