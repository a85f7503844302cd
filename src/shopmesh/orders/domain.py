"""Orders domain: an order line, its status rules, the events orders sends and the ones it reads.

Pure on purpose: no I/O, no web or database framework. Prices never come
from the customer: a line is priced only from the products service's
reservation answer (see :func:`price_lines`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shopmesh.kit.errors import AppError, Conflict, NotFound, Unprocessable
from shopmesh.kit.events import Event
from shopmesh.kit.validation import MAX_ID, MoneyNumber

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
        return StatusChange(self.id, self.customer_id, self.status, self.updated_at)


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


class _OrderEvent(Event):
    """The fields every order event carries (the contract's, plus the envelope)."""

    topic: ClassVar[str] = TOPIC
    id: int
    reference: str
    customer_id: int
    product_id: int
    quantity: int
    per_cost: MoneyNumber
    total_cost: MoneyNumber
    currency: str
    created_at: datetime

    def key(self) -> str:
        return str(self.id)


class OrderCreated(_OrderEvent):
    """An order was placed; its stock is reserved. With ``payment_required``, payments charges
    it and the dispatcher waits for ``order.paid``; without, the dispatcher ships it as is."""

    event_type: Literal["order.created"] = "order.created"
    status: Literal["Created"] = "Created"
    product_name: str
    checkout_id: str
    payment_required: bool


class OrderPaid(_OrderEvent):
    """Payments charged the order (transaction ``transaction_id``, null for a free order):
    the dispatcher may ship it."""

    event_type: Literal["order.paid"] = "order.paid"
    status: Literal["Paid"] = "Paid"
    updated_at: datetime
    transaction_id: int | None


class OrderPaymentDeclined(_OrderEvent):
    """Payments refused the charge (``reason``); products releases the order's reservation."""

    event_type: Literal["order.payment_declined"] = "order.payment_declined"
    status: Literal["Payment declined"] = "Payment declined"
    updated_at: datetime
    reason: str


class OrderCancelled(_OrderEvent):
    """The customer cancelled an order; products releases the reservation named by ``reference``,
    payments voids its charge, the dispatcher drops its pending shipment."""

    event_type: Literal["order.cancelled"] = "order.cancelled"
    status: Literal["Cancelled"] = "Cancelled"
    updated_at: datetime


# The events that tell an order's new status (the live stream shows each).
STATUS_EVENTS = frozenset(
    {"order.created", "order.paid", "order.payment_declined", "order.cancelled"}
)
OrderEvent = OrderCreated | OrderPaid | OrderPaymentDeclined | OrderCancelled
PRODUCED_EVENTS: tuple[type[Event], ...] = (
    OrderCreated,
    OrderPaid,
    OrderPaymentDeclined,
    OrderCancelled,
)


def order_event(order: Order, *, producer: str, payment_required: bool = True) -> OrderEvent:
    """The event announcing ``order``'s current status (``payment_required`` goes with
    ``order.created`` only)."""
    fields: dict[str, Any] = {
        "producer": producer,
        "id": order.id,
        "reference": order.reference,
        "customer_id": order.customer_id,
        "product_id": order.product_id,
        "quantity": order.quantity,
        "per_cost": order.per_cost,
        "total_cost": order.total_cost,
        "currency": order.currency,
        "created_at": order.created_at,
    }
    match order.status:
        case OrderStatus.CREATED:
            return OrderCreated(
                **fields,
                product_name=order.product_name,
                checkout_id=order.checkout_id,
                payment_required=payment_required,
            )
        case OrderStatus.PAID:
            return OrderPaid(
                **fields, updated_at=order.updated_at, transaction_id=order.transaction_id
            )
        case OrderStatus.PAYMENT_DECLINED:
            return OrderPaymentDeclined(
                **fields, updated_at=order.updated_at, reason=order.decline_reason or "declined"
            )
        case OrderStatus.CANCELLED:
            return OrderCancelled(**fields, updated_at=order.updated_at)
    raise ValueError(f"orders does not announce {order.status}: the dispatcher does")


class DispatchedNotice(BaseModel):
    """``order.dispatched`` as orders reads it (the dispatcher's event; only what we need)."""

    model_config = ConfigDict(extra="ignore")

    id: int = Field(ge=1, le=MAX_ID)


class PaymentNotice(BaseModel):
    """``payment.authorized`` / ``payment.declined`` as orders reads them (payments' events)."""

    model_config = ConfigDict(extra="ignore")

    order_id: int = Field(ge=1, le=MAX_ID)
    transaction_id: int | None = None
    reason: str = Field("declined", min_length=1, max_length=64)


class StatusNotice(BaseModel):
    """Orders' own status events (``order.created``, ``order.paid``...) as the live stream
    reads them."""

    model_config = ConfigDict(extra="ignore")

    id: int
    customer_id: int
    status: OrderStatus
    created_at: datetime
    updated_at: datetime | None = None

    def change(self) -> StatusChange:
        at = self.updated_at or self.created_at
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        return StatusChange(self.id, self.customer_id, self.status, at)
