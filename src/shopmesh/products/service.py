"""Products use cases: each is one database transaction.

Reservations are all-or-nothing: every line is claimed by its reservation id
and every product's stock taken by a conditional UPDATE in one transaction;
one refusal raises, which rolls the whole request back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from shopmesh.kit.app import ServiceRuntime
from shopmesh.kit.db import Executor
from shopmesh.products import repository as repo
from shopmesh.products.domain import (
    Offer,
    OutOfStock,
    Page,
    Product,
    ProductNotFound,
    ProductQuery,
    ReservationIdReused,
    ReservationRequest,
    ReservedLine,
    SkuTaken,
    requested_per_product,
)


class ProductService:
    """The products use cases over one service runtime."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self._runtime = runtime

    async def create(self, values: Mapping[str, Any]) -> Product:
        """Add a product; a sku already in use is refused (409 ``sku_taken``)."""
        with _sku_guard(values):
            async with self._runtime.transaction() as session:
                return await repo.add_product(session, values, now=_now())

    async def update(self, product_id: int, values: Mapping[str, Any]) -> Product:
        """Change the given fields of a product (all of them for a full replace)."""
        with _sku_guard(values):
            async with self._runtime.transaction() as session:
                row = await repo.get_product_row(session, product_id)
                if row is None:
                    raise ProductNotFound.of([product_id])
                return await repo.change_product(session, row, values, now=_now())

    async def deactivate(self, product_id: int) -> None:
        """Soft delete: the product leaves the catalogue but past orders still resolve it."""
        await self.update(product_id, {"is_active": False})

    async def get(self, product_id: int, *, include_inactive: bool = False) -> Product:
        async with self._runtime.transaction() as session:
            row = await repo.get_product_row(session, product_id)
            if row is None or not (row.is_active or include_inactive):
                raise ProductNotFound.of([product_id])
            return repo.to_product(row)

    async def search(self, query: ProductQuery) -> Page:
        async with self._runtime.transaction() as session:
            return await repo.list_products(session, query)

    async def categories(self) -> list[str]:
        async with self._runtime.transaction() as session:
            return await repo.list_categories(session)

    async def reserve(self, requests: Sequence[ReservationRequest]) -> list[ReservedLine]:
        """Reserve every line or none; a repeated reservation id answers as the first time."""
        # Core statements on a connection: the hot path skips the ORM session's bookkeeping.
        async with self._runtime.connection() as connection:
            return await reserve_in(connection, requests)

    async def release(self, reservation_id: str) -> bool:
        """Give a reservation's stock back; False when it was already released or never made."""
        async with self._runtime.transaction() as session:
            return await release_in(session, reservation_id)


@contextmanager
def _sku_guard(values: Mapping[str, Any]) -> Iterator[None]:
    """Turns the sku's unique-constraint violation into the domain's refusal."""
    try:
        yield
    except IntegrityError as exc:
        if "sku" in str(exc.orig).lower():
            raise SkuTaken(str(values.get("sku"))) from None
        raise


def _now() -> datetime:
    return datetime.now(UTC)


async def reserve_in(
    session: Executor, requests: Sequence[ReservationRequest]
) -> list[ReservedLine]:
    """The reservation use case in the caller's transaction; raises (to roll back) on refusal.

    Reservation ids are nearly always new, so the common case does not look for
    earlier reservations first: each line's claim (INSERT ... ON CONFLICT DO
    NOTHING) says whether its id was taken, and only then is the earlier one read.
    Only when a product is not (or no longer) active are earlier reservations
    looked for first, so a repeat still answers as the first time did.
    """
    products = await repo.active_offers(session, {r.product_id for r in requests})
    if {r.product_id for r in requests} <= products.keys():
        answers = await _reserve_new(session, requests, products)
    else:
        answers = await repo.find_reservations(session, [r.reservation_id for r in requests])
        _check_repeats(requests, answers)
        new = [r for r in requests if r.reservation_id not in answers]
        if new:
            answers |= await _reserve_new(session, new, products)
    return [answers[r.reservation_id] for r in requests]


def _check_repeats(
    requests: Sequence[ReservationRequest], answers: Mapping[str, ReservedLine]
) -> None:
    for request in requests:
        earlier = answers.get(request.reservation_id)
        if earlier is not None and not earlier.answers(request):
            raise ReservationIdReused(request.reservation_id)


async def _reserve_new(
    session: Executor, requests: Sequence[ReservationRequest], products: Mapping[int, Offer]
) -> dict[str, ReservedLine]:
    missing = {r.product_id for r in requests} - products.keys()
    if missing:
        raise ProductNotFound.of(missing)
    now = _now()
    claimed: list[ReservationRequest] = []
    answers: dict[str, ReservedLine] = {}
    # Claims in reservation-id order, then stock in product-id order: concurrent requests
    # take their locks in one global order, so they queue instead of deadlocking.
    for request in sorted(requests, key=lambda r: r.reservation_id):
        line = ReservedLine.of(request, products[request.product_id])
        if await repo.claim_reservation(session, line, now=now):
            claimed.append(request)
            answers[request.reservation_id] = line
        else:
            # A concurrent request with this id committed first: answer as it did.
            answers |= await repo.find_reservations(session, [request.reservation_id])
            _check_repeats([request], answers)
    await _take_stock(session, claimed)
    return answers


async def _take_stock(session: Executor, requests: Sequence[ReservationRequest]) -> None:
    """Take each product's requested total, or raise ``OutOfStock`` naming every short product."""
    wanted = requested_per_product(requests)
    short = [
        product_id
        for product_id, quantity in wanted.items()
        if not await repo.take_stock(session, product_id, quantity=quantity)
    ]
    if short:
        raise OutOfStock.of(wanted, await repo.stock_of(session, short))


async def release_in(session: Executor, reservation_id: str) -> bool:
    """The release in the caller's transaction (the order.cancelled handler runs it too)."""
    held = await repo.mark_released(session, reservation_id, now=_now())
    if held is None:
        return False
    await repo.return_stock(session, held.product_id, quantity=held.quantity)
    return True
