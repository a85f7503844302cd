"""Orders' ports in memory: its unit of work, and the products and customers services."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from shopmesh.kit.errors import AppError, ServiceUnavailable
from shopmesh.orders.domain import (
    CANCELLABLE,
    DISPATCHABLE,
    Order,
    OrderLine,
    OrderStatus,
    PricedLine,
    UpdatedBy,
)
from tests.fakes import FakeIdempotencyRecords, FakeStore, FakeUnitOfWork


class OrdersStore(FakeStore):
    def __init__(self) -> None:
        super().__init__()
        self.orders: dict[int, Order] = {}
        self.intents: dict[str, datetime] = {}


class FakeOrders:
    """:class:`shopmesh.orders.repository.Orders` in memory."""

    def __init__(self, store: OrdersStore) -> None:
        self._store = store

    async def add(
        self, customer_id: int, lines: Sequence[PricedLine], *, checkout_id: str, now: datetime
    ) -> list[Order]:
        added = []
        for line in lines:
            order = Order(
                id=len(self._store.orders) + 1,
                reference=line.reference,
                customer_id=customer_id,
                product_id=line.product_id,
                product_name=line.product_name,
                quantity=line.quantity,
                per_cost=line.per_cost,
                total_cost=line.total_cost,
                currency=line.currency,
                status=OrderStatus.CREATED,
                created_at=now,
                updated_at=now,
                updated_by=UpdatedBy.CUSTOMER.value,
                checkout_id=checkout_id,
            )
            self._store.orders[order.id] = order
            added.append(order)
        return added

    async def of_customer(
        self, customer_id: int, *, status: OrderStatus | None, limit: int, offset: int
    ) -> list[Order]:
        mine = [
            o
            for o in self._store.orders.values()
            if o.customer_id == customer_id and status in (None, o.status)
        ]
        mine.sort(key=lambda o: (o.created_at, o.id), reverse=True)
        return mine[offset : offset + limit]

    async def get(self, order_id: int, *, customer_id: int | None = None) -> Order | None:
        order = self._store.orders.get(order_id)
        if order is None or customer_id not in (None, order.customer_id):
            return None
        return order

    async def by_ids(self, customer_id: int | None, ids: Sequence[int]) -> list[Order]:
        found = [await self.get(i, customer_id=customer_id) for i in ids]
        return [o for o in found if o is not None]

    async def cancel(self, order_id: int, *, customer_id: int, now: datetime) -> Order | None:
        order = await self.get(order_id, customer_id=customer_id)
        if order is None or order.status not in CANCELLABLE:
            return None
        return self._change(order, OrderStatus.CANCELLED, UpdatedBy.CUSTOMER, now)

    async def mark_paid(
        self, order_id: int, *, transaction_id: int | None, now: datetime
    ) -> Order | None:
        order = self._store.orders.get(order_id)
        if order is None or order.status is not OrderStatus.CREATED:
            return None
        return self._change(
            order, OrderStatus.PAID, UpdatedBy.PAYMENTS, now, transaction_id=transaction_id
        )

    async def mark_declined(self, order_id: int, *, reason: str, now: datetime) -> Order | None:
        order = self._store.orders.get(order_id)
        if order is None or order.status is not OrderStatus.CREATED:
            return None
        return self._change(
            order, OrderStatus.PAYMENT_DECLINED, UpdatedBy.PAYMENTS, now, decline_reason=reason
        )

    async def mark_all_dispatched(self, order_ids: Sequence[int], *, now: datetime) -> None:
        for order_id in set(order_ids):
            order = self._store.orders.get(order_id)
            if order is not None and order.status in DISPATCHABLE:
                self._change(order, OrderStatus.DISPATCHED, UpdatedBy.DISPATCHER, now)

    def _change(
        self, order: Order, to: OrderStatus, by: UpdatedBy, now: datetime, **values: Any
    ) -> Order:
        changed = replace(order, status=to, updated_by=by.value, updated_at=now, **values)
        self._store.orders[order.id] = changed
        return changed


class FakeIntents:
    """:class:`shopmesh.orders.repository.Intents` in memory."""

    def __init__(self, store: OrdersStore) -> None:
        self._store = store

    async def add(self, references: Sequence[str], *, now: datetime) -> None:
        self._store.intents.update(dict.fromkeys(references, now))

    async def settle(self, references: Sequence[str]) -> bool:
        settled = [r for r in references if self._store.intents.pop(r, None) is not None]
        return len(settled) == len(references)

    async def stale(self, *, before: datetime, limit: int) -> list[str]:
        old = sorted((at, r) for r, at in self._store.intents.items() if at < before)
        return [r for _, r in old[:limit]]

    async def drop(self, reference: str) -> None:
        self._store.intents.pop(reference, None)


class FakeOrdersUnitOfWork(FakeUnitOfWork):
    store: OrdersStore

    def open_repositories(self) -> None:
        self.orders = FakeOrders(self.store)
        self.intents = FakeIntents(self.store)
        self.idempotency = FakeIdempotencyRecords(self.store)


class MemoryProducts:
    """:class:`shopmesh.orders.remote.ProductsClient` in memory: a catalogue with stock,
    reservations by id; ``down`` makes every call fail as products being away does."""

    def __init__(self) -> None:
        self.products: dict[int, dict[str, Any]] = {}
        self.stock: dict[int, int] = {}
        self.reservations: dict[str, tuple[int, int]] = {}  # id -> (product, quantity)
        self.calls: Counter[str] = Counter()
        self.released: list[str] = []
        self.down = False
        self.refuse_releases = False
        self.delay = 0.0

    def add(self, name: str, price: str, *, stock: int = 100) -> int:
        product_id = 1001 + len(self.products)
        self.products[product_id] = {"id": product_id, "name": name, "price": float(price)}
        self.stock[product_id] = stock
        return product_id

    async def reserve(self, lines: Sequence[OrderLine], references: Sequence[str]) -> Any:
        self._call("reserve")
        unknown = sorted({line.product_id for line in lines} - set(self.products))
        if unknown:
            raise AppError("product not found", code="product_not_found", status=404)
        wanted: Counter[int] = Counter()
        for line in lines:
            wanted[line.product_id] += line.quantity
        if any(n > self.stock[p] for p, n in wanted.items()):
            raise AppError("not enough stock", code="out_of_stock", status=409)
        answer = []
        for line, ref in zip(lines, references, strict=True):
            self.stock[line.product_id] -= line.quantity
            self.reservations[ref] = (line.product_id, line.quantity)
            product = self.products[line.product_id]
            answer.append(
                {
                    "reservation_id": ref,
                    "product_id": line.product_id,
                    "quantity": line.quantity,
                    "unit_price": product["price"],
                    "currency": "USD",
                    "name": product["name"],
                }
            )
        return {"lines": answer}

    async def try_release(self, reference: str, *, last: bool) -> bool:
        if self.down or self.refuse_releases:
            self.calls["release"] += 1
            return last
        self._call("release")
        self.released.append(reference)
        held = self.reservations.pop(reference, None)
        if held is not None:
            self.stock[held[0]] += held[1]
        return True

    async def by_ids(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        self._call("list")
        await asyncio.sleep(self.delay)
        return {i: self.products[i] for i in set(ids) if i in self.products}

    def _call(self, what: str) -> None:
        self.calls[what] += 1
        if self.down:
            raise ServiceUnavailable("products is unavailable")


class MemoryCustomers:
    """:class:`shopmesh.orders.remote.CustomersClient` in memory."""

    def __init__(self) -> None:
        self.profiles: dict[str, dict[str, Any]] = {}  # by the caller's authorization
        self.authorizations: list[str] = []
        self.down = False
        self.delay = 0.0

    async def profile(self, authorization: str) -> dict[str, Any] | None:
        self.authorizations.append(authorization)
        await asyncio.sleep(self.delay)
        if self.down:
            raise ServiceUnavailable("customers is unavailable")
        return self.profiles.get(authorization)
