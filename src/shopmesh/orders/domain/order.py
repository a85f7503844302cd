"""An order: its lines, prices and status rules.

Pure on purpose: no I/O, no web or database framework. Prices never come
from the customer: a line is priced only from the products service's
reservation answer (see :func:`price_lines`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shopmesh.kit.errors import AppError, Conflict, NotFound, Unprocessable

CENT = Decimal("0.01")
# The largest value a NUMERIC(12, 2) column holds.
MAX_MONEY = Decimal("9999999999.99")
MAX_QUANTITY = 1000
MAX_LINES = 50
TOPIC = "order-events"


class OrderStatus(StrEnum):
    CREATED = "Created"
    PAID = "Paid"
    PAYMENT_DECLINED = "Payment declined"
    DISPATCHED = "Dispatched"
    CANCELLED = "Cancelled"


# What a customer may still cancel: anything not dispatched (nor cancelled already).
CANCELLABLE = (OrderStatus.CREATED, OrderStatus.PAID, OrderStatus.PAYMENT_DECLINED)
# What the dispatcher may ship: a paid order, or a created one when payment is not required.
DISPATCHABLE = (OrderStatus.CREATED, OrderStatus.PAID)


class UpdatedBy(StrEnum):
    """Who made an order's last change."""

    CUSTOMER = "customer"
    PAYMENTS = "payments"
    DISPATCHER = "dispatcher"


class OrderNotFound(NotFound):
    code = "order_not_found"

    def __init__(self) -> None:
        super().__init__("order not found")


class AlreadyDispatched(Conflict):
    code = "already_dispatched"

    def __init__(self) -> None:
        super().__init__("the order was already dispatched and can no longer be cancelled")


class TotalTooLarge(Unprocessable):
    code = "total_too_large"


class UnusableReservation(AppError):
    """The products service answered, but not with what its contract promises."""

    status, code = 502, "bad_upstream_answer"


@dataclass(frozen=True, slots=True)
class OrderLine:
    """What a customer asks for: a product and how many."""

    product_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A reserved line with the price the products service gave for it."""

    reference: str
    product_id: int
    product_name: str
    quantity: int
    per_cost: Decimal
    total_cost: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class StatusChange:
    """An order reached ``status``: what the live stream tells the order's customer."""

    order_id: int
    customer_id: int
    status: OrderStatus
    updated_at: datetime
    decline_reason: str | None = None  # why payment was declined, with that status


@dataclass(frozen=True, slots=True)
class Order:
    """One product line a customer ordered, with its price fixed at reservation time."""

    id: int
    reference: str
    customer_id: int
    product_id: int
    product_name: str
    quantity: int
    per_cost: Decimal
    total_cost: Decimal
    currency: str
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    updated_by: str
    # The checkout (one POST) the order was placed in: all its lines share it.
    checkout_id: str = ""
    # The payments transaction that charged the order, and why a payment was declined.
    transaction_id: int | None = None
    decline_reason: str | None = None

    def status_change(self) -> StatusChange:
        return StatusChange(
            self.id, self.customer_id, self.status, self.updated_at, self.decline_reason
        )


def _decimal(value: object) -> object:
    # Floats are read by their shortest text, so 19.99 stays 19.99 and not 19.9899999...
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


Price = Annotated[Decimal, BeforeValidator(_decimal), Field(ge=0, le=MAX_MONEY)]


class ReservedLine(BaseModel):
    """One line of the products service's reservation answer (the fields orders reads)."""

    model_config = ConfigDict(extra="ignore")

    reservation_id: str
    product_id: int
    quantity: int
    unit_price: Price
    currency: str = Field(min_length=1, max_length=16)
    name: str = Field(max_length=10_000)


class ReservationAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    lines: list[ReservedLine]


def price_lines(
    lines: Sequence[OrderLine], references: Sequence[str], answer: Any
) -> list[PricedLine]:
    """Price each requested line from the reservation ``answer`` (never from the customer).

    Raises :class:`UnusableReservation` when the answer does not cover exactly
    the lines asked for, and :class:`TotalTooLarge` when a line's total does
    not fit the money column.
    """
    try:
        reserved = {r.reservation_id: r for r in ReservationAnswer.model_validate(answer).lines}
    except (ValueError, InvalidOperation):
        raise UnusableReservation("products gave an unusable reservation answer") from None
    return [
        _priced(line, ref, reserved.get(ref)) for line, ref in zip(lines, references, strict=True)
    ]


def _priced(line: OrderLine, reference: str, reserved: ReservedLine | None) -> PricedLine:
    if (
        reserved is None
        or reserved.product_id != line.product_id
        or reserved.quantity != line.quantity
    ):
        raise UnusableReservation("products' reservation answer does not match the order")
    per_cost = reserved.unit_price.quantize(CENT)
    total = (per_cost * line.quantity).quantize(CENT)
    if total > MAX_MONEY:
        raise TotalTooLarge(
            f"the total of product {line.product_id} would exceed {MAX_MONEY}",
            details={"product_id": line.product_id, "quantity": line.quantity},
        )
    return PricedLine(
        reference=reference,
        product_id=line.product_id,
        product_name=reserved.name,
        quantity=line.quantity,
        per_cost=per_cost,
        total_cost=total,
        currency=reserved.currency,
    )
