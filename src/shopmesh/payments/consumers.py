"""Kafka handlers: orders' ``order.created`` charged, ``order.cancelled`` voided, each in the
consumer's unit of work (with the event's id, so a redelivered event changes nothing)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shopmesh.kit.consumer import EventConsumer, Handler, event_consumer
from shopmesh.kit.events import EventEnvelope
from shopmesh.kit.validation import MAX_ID, json_number
from shopmesh.payments.domain import MAX_AMOUNT, OrderCharge
from shopmesh.payments.repository import PaymentsUnitOfWork
from shopmesh.payments.service import PaymentService
from shopmesh.payments.settings import Settings

Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
Cost = Annotated[
    Decimal, BeforeValidator(json_number), Field(ge=0, le=MAX_AMOUNT, decimal_places=2)
]


class OrderNotice(BaseModel):
    """An order event as payments reads it (orders' contract; only the fields used)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: Id
    customer_id: Id
    quantity: Annotated[int, Field(strict=True, ge=1)]
    total_cost: Cost
    product_name: str = ""
    # Absent from events of orders that run the commerce seed's flow (nothing to charge).
    payment_required: bool = False

    def charge(self) -> OrderCharge:
        return OrderCharge(
            order_id=self.id,
            user_id=self.customer_id,
            amount=self.total_cost,
            product_name=self.product_name or "product",
            quantity=self.quantity,
        )


def order_handlers(payments: PaymentService) -> dict[str, Handler[PaymentsUnitOfWork]]:
    """The handlers of ``order.created`` and ``order.cancelled``."""

    async def on_order_created(uow: PaymentsUnitOfWork, envelope: EventEnvelope) -> None:
        order = OrderNotice.model_validate(envelope.payload)
        if order.payment_required:
            await payments.charge_order(uow, order.charge())

    async def on_order_cancelled(uow: PaymentsUnitOfWork, envelope: EventEnvelope) -> None:
        await payments.void_order(uow, OrderNotice.model_validate(envelope.payload).id)

    return {"order.created": on_order_created, "order.cancelled": on_order_cancelled}


def order_consumer(
    settings: Settings, units: Callable[[], PaymentsUnitOfWork], *, payments: PaymentService
) -> EventConsumer[PaymentsUnitOfWork]:
    """The consumer of ``order-events``, in the group ``settings.group_id``."""
    return event_consumer(
        settings,
        units,
        group_id=settings.group_id,
        topics=[settings.order_events_topic],
        handlers=order_handlers(payments),
    )
