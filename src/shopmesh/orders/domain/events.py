"""What orders announces about an order, and the notices it reads from the other services."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shopmesh.kit.events import Event
from shopmesh.kit.validation import MAX_ID, MoneyNumber
from shopmesh.orders.domain.order import TOPIC, Order, OrderStatus, StatusChange


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
    reason: str | None = None  # order.payment_declined's

    def change(self) -> StatusChange:
        at = self.updated_at or self.created_at
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        return StatusChange(self.id, self.customer_id, self.status, at, self.reason)
