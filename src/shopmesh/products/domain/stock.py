"""Stock: reservations for orders, all or nothing, and their refusals. Pure.

Stock never goes below zero because the database decides each reservation
with one conditional UPDATE (see repository.stock); the rules here say what a
valid reservation is and build the refusals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shopmesh.kit.errors import Conflict, Unprocessable


class ReservationStatus(StrEnum):
    RESERVED = "reserved"
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class ReservationRequest:
    """A line to reserve: ``quantity`` of ``product_id`` under ``reservation_id``."""

    reservation_id: str
    product_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Offer:
    """What a reservation takes from a product: its name and price, as they are now."""

    id: int
    name: str
    price: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class ReservedLine:
    """A reservation as answered to the caller (the price and name at the time it was made)."""

    reservation_id: str
    product_id: int
    quantity: int
    unit_price: Decimal
    currency: str
    name: str

    @classmethod
    def of(cls, request: ReservationRequest, product: Offer) -> ReservedLine:
        return cls(
            reservation_id=request.reservation_id,
            product_id=product.id,
            quantity=request.quantity,
            unit_price=product.price,
            currency=product.currency,
            name=product.name,
        )

    def answers(self, request: ReservationRequest) -> bool:
        """True when ``request`` is a repeat of the request this line was made for."""
        return (self.product_id, self.quantity) == (request.product_id, request.quantity)


def requested_per_product(requests: Iterable[ReservationRequest]) -> dict[int, int]:
    """Total quantity asked of each product, in product-id order (the order rows are locked in)."""
    totals: dict[int, int] = {}
    for request in requests:
        totals[request.product_id] = totals.get(request.product_id, 0) + request.quantity
    return dict(sorted(totals.items()))


class OutOfStock(Conflict):
    code = "out_of_stock"

    @classmethod
    def of(cls, requested: Mapping[int, int], available: Mapping[int, int]) -> OutOfStock:
        """The refusal naming every product short of stock: what was asked, what there is."""
        details = [
            {"product_id": pid, "requested": requested[pid], "available": available.get(pid, 0)}
            for pid in sorted(available)
        ]
        listed = ", ".join(
            f"product {d['product_id']} (requested {d['requested']}, available {d['available']})"
            for d in details
        )
        return cls(f"not enough stock: {listed}", details=details)


class ReservationIdReused(Unprocessable):
    code = "reservation_id_reused"

    def __init__(self, reservation_id: str) -> None:
        super().__init__(
            f"reservation {reservation_id} was already made for another product or quantity",
            details={"reservation_id": reservation_id},
        )


class OrderCancelled(BaseModel):
    """What products reads of ``order.cancelled``: the order's reference is its reservation id."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    reference: UUID
