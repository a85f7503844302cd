"""Products use cases: each is one database transaction.

Reservations are all-or-nothing: every line is claimed by its reservation id
and every product's stock taken by a conditional UPDATE in one transaction;
one refusal raises, which rolls the whole request back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError

from shopmesh.kit.clock import utcnow
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
from shopmesh.products.repository import ProductsUnitOfWork, Stock


class ProductService:
    """The products use cases, each in a unit of work from ``units``."""

    def __init__(self, units: Callable[[], ProductsUnitOfWork]) -> None:
        self._units = units

    async def create(self, values: Mapping[str, Any]) -> Product:
        """Add a product; a sku already in use is refused (409 ``sku_taken``)."""
        with _sku_guard(values):
            async with self._units() as uow:
                return await uow.catalogue.add(values, now=utcnow())

    async def update(self, product_id: int, values: Mapping[str, Any]) -> Product:
        """Change the given fields of a product (all of them for a full replace)."""
        with _sku_guard(values):
            async with self._units() as uow:
                changed = await uow.catalogue.change(product_id, values, now=utcnow())
        if changed is None:
            raise ProductNotFound.of([product_id])
        return changed

    async def deactivate(self, product_id: int) -> None:
        """Soft delete: the product leaves the catalogue but past orders still resolve it."""
        await self.update(product_id, {"is_active": False})

    async def get(self, product_id: int, *, include_inactive: bool = False) -> Product:
        async with self._units() as uow:
            product = await uow.catalogue.get(product_id)
        if product is None or not (product.is_active or include_inactive):
            raise ProductNotFound.of([product_id])
        return product

    async def search(self, query: ProductQuery) -> Page:
        async with self._units() as uow:
            return await uow.catalogue.search(query)

    async def categories(self) -> list[str]:
        async with self._units() as uow:
            return await uow.catalogue.categories()

    async def reserve(self, requests: Sequence[ReservationRequest]) -> list[ReservedLine]:
        """Reserve every line or none; a repeated reservation id answers as the first time."""
        async with self._units() as uow:
            return await reserve_in(uow.stock, requests)

    async def release(self, reservation_id: str) -> bool:
        """Give a reservation's stock back; False when it was already released or never made."""
        async with self._units() as uow:
            return await release_in(uow.stock, reservation_id)


@contextmanager
def _sku_guard(values: Mapping[str, Any]) -> Iterator[None]:
    """Turns the sku's unique-constraint violation into the domain's refusal."""
    try:
        yield
    except IntegrityError as exc:
        if "sku" in str(exc.orig).lower():
            raise SkuTaken(str(values.get("sku"))) from None
        raise


async def reserve_in(stock: Stock, requests: Sequence[ReservationRequest]) -> list[ReservedLine]:
    """The reservation use case in the caller's unit of work; raises (to roll back) on refusal.

    Reservation ids are nearly always new, so the common case does not look for
    earlier reservations first: each line's claim (INSERT ... ON CONFLICT DO
    NOTHING) says whether its id was taken, and only then is the earlier one read.
    Only when a product is not (or no longer) active are earlier reservations
    looked for first, so a repeat still answers as the first time did.
    """
    products = await stock.offers({r.product_id for r in requests})
    if {r.product_id for r in requests} <= products.keys():
        answers = await _reserve_new(stock, requests, products)
    else:
        answers = await stock.reservations([r.reservation_id for r in requests])
        _check_repeats(requests, answers)
        new = [r for r in requests if r.reservation_id not in answers]
        if new:
            answers |= await _reserve_new(stock, new, products)
    return [answers[r.reservation_id] for r in requests]


def _check_repeats(
    requests: Sequence[ReservationRequest], answers: Mapping[str, ReservedLine]
) -> None:
    for request in requests:
        earlier = answers.get(request.reservation_id)
        if earlier is not None and not earlier.answers(request):
            raise ReservationIdReused(request.reservation_id)


async def _reserve_new(
    stock: Stock, requests: Sequence[ReservationRequest], products: Mapping[int, Offer]
) -> dict[str, ReservedLine]:
    missing = {r.product_id for r in requests} - products.keys()
    if missing:
        raise ProductNotFound.of(missing)
    now = utcnow()
    claimed: list[ReservationRequest] = []
    answers: dict[str, ReservedLine] = {}
    # Claims in reservation-id order, then stock in product-id order: concurrent requests
    # take their locks in one global order, so they queue instead of deadlocking.
    for request in sorted(requests, key=lambda r: r.reservation_id):
        line = ReservedLine.of(request, products[request.product_id])
        if await stock.claim(line, now=now):
            claimed.append(request)
            answers[request.reservation_id] = line
        else:
            # A concurrent request with this id committed first: answer as it did.
            answers |= await stock.reservations([request.reservation_id])
            _check_repeats([request], answers)
    await _take_stock(stock, claimed)
    return answers


async def _take_stock(stock: Stock, requests: Sequence[ReservationRequest]) -> None:
    """Take each product's requested total, or raise ``OutOfStock`` naming every short product."""
    wanted = requested_per_product(requests)
    short = [
        product_id
        for product_id, quantity in wanted.items()
        if not await stock.take(product_id, quantity=quantity)
    ]
    if short:
        raise OutOfStock.of(wanted, await stock.levels(short))


async def release_in(stock: Stock, reservation_id: str) -> bool:
    """The release in the caller's unit of work (the order.cancelled handler runs it too)."""
    held = await stock.release(reservation_id, now=utcnow())
    if held is None:
        return False
    await stock.give_back(held.product_id, quantity=held.quantity)
    return True
