"""The products unit of work in memory: the catalogue and its stock reservations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError

from shopmesh.products.domain import (
    Offer,
    Page,
    Product,
    ProductQuery,
    ReservationRequest,
    ReservationStatus,
    ReservedLine,
)
from tests.fakes import FakeStore, FakeUnitOfWork


class ProductsStore(FakeStore):
    def __init__(self) -> None:
        super().__init__()
        self.products: dict[int, Product] = {}
        # reservation id -> (line, status)
        self.reservations: dict[str, tuple[ReservedLine, ReservationStatus]] = {}


def product(product_id: int, **fields: Any) -> Product:
    """A product as the catalogue stores it (defaults for what a test leaves out)."""
    values: dict[str, Any] = {
        "id": product_id,
        "name": f"Product {product_id}",
        "description": "",
        "price": Decimal("10.00"),
        "currency": "USD",
        "stock_quantity": 10,
        "category": None,
        "brand": None,
        "model": None,
        "sku": None,
        "images": [],
        "tags": [],
        "specifications": {},
        "additional_info": "",
        "rating": Decimal("0.0"),
        "rating_count": 0,
        "is_active": True,
        "created_at": datetime(2026, 1, 1),
        "updated_at": datetime(2026, 1, 1),
    }
    return Product(**(values | fields))


class FakeCatalogue:
    """:class:`shopmesh.products.repository.Catalogue` in memory (listing: by id only)."""

    def __init__(self, store: ProductsStore) -> None:
        self._store = store

    async def add(self, values: Mapping[str, Any], *, now: datetime) -> Product:
        self._check_sku(values.get("sku"), owner=None)
        new = product(len(self._store.products) + 1, **values, created_at=now, updated_at=now)
        self._store.products[new.id] = new
        return new

    async def get(self, product_id: int) -> Product | None:
        return self._store.products.get(product_id)

    async def change(
        self, product_id: int, values: Mapping[str, Any], *, now: datetime
    ) -> Product | None:
        if product_id not in self._store.products:
            return None
        self._check_sku(values.get("sku"), owner=product_id)
        changed = replace(self._store.products[product_id], **values, updated_at=now)
        self._store.products[product_id] = changed
        return changed

    async def search(self, query: ProductQuery) -> Page:
        found = [p for p in self._store.products.values() if p.is_active or query.include_inactive]
        return Page(items=found[query.offset : query.offset + query.limit], total=len(found))

    async def categories(self) -> list[str]:
        return sorted({p.category for p in self._store.products.values() if p.category})

    def _check_sku(self, sku: object, *, owner: int | None) -> None:
        # What the unique index on sku refuses.
        taken = any(p.sku == sku and p.id != owner for p in self._store.products.values())
        if sku is not None and taken:
            raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: product.sku"))


class FakeStock:
    """:class:`shopmesh.products.repository.Stock` in memory."""

    def __init__(self, store: ProductsStore) -> None:
        self._store = store

    async def offers(self, product_ids: Iterable[int]) -> dict[int, Offer]:
        found = [self._store.products.get(i) for i in product_ids]
        return {p.id: Offer(p.id, p.name, p.price, p.currency) for p in found if p and p.is_active}

    async def take(self, product_id: int, *, quantity: int) -> bool:
        held = self._store.products[product_id]
        if held.stock_quantity < quantity:
            return False
        self._store.products[product_id] = replace(
            held, stock_quantity=held.stock_quantity - quantity
        )
        return True

    async def give_back(self, product_id: int, *, quantity: int) -> None:
        held = self._store.products[product_id]
        self._store.products[product_id] = replace(
            held, stock_quantity=held.stock_quantity + quantity
        )

    async def levels(self, product_ids: Iterable[int]) -> dict[int, int]:
        return {i: self._store.products[i].stock_quantity for i in product_ids}

    async def reservations(self, reservation_ids: Sequence[str]) -> dict[str, ReservedLine]:
        return {
            i: self._store.reservations[i][0]
            for i in reservation_ids
            if i in self._store.reservations
        }

    async def claim(self, line: ReservedLine, *, now: datetime) -> bool:
        if line.reservation_id in self._store.reservations:
            return False
        self._store.reservations[line.reservation_id] = (line, ReservationStatus.RESERVED)
        return True

    async def release(self, reservation_id: str, *, now: datetime) -> ReservationRequest | None:
        found = self._store.reservations.get(reservation_id)
        if found is None or found[1] is not ReservationStatus.RESERVED:
            return None
        self._store.reservations[reservation_id] = (found[0], ReservationStatus.RELEASED)
        return ReservationRequest(reservation_id, found[0].product_id, found[0].quantity)


class FakeProductsUnitOfWork(FakeUnitOfWork):
    store: ProductsStore

    def open_repositories(self) -> None:
        self.catalogue = FakeCatalogue(self.store)
        self.stock = FakeStock(self.store)
