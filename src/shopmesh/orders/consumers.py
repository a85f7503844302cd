"""Kafka handlers: payments' ``payment.authorized`` / ``payment.declined`` in, the order's
status changed in the same transaction.

The kit's consumer records each event id in the same unit of work, so a
redelivered event changes nothing; the UPDATEs themselves are conditional
too (only a Created order is paid or declined), so a cancelled order stays
cancelled and a replay under another event id is a no-op as well.

The durable consumer reads ``payment-events`` only. Orders decides each dispatch
itself (the dispatcher asks it before it ships, ``POST /api/orders/dispatches``),
so the dispatcher's ``order.dispatched`` has nothing left to change here: only the
live listener reads it, to tell the customer's streams.
"""

from __future__ import annotations

from collections.abc import Callable

from shopmesh.kit.consumer import EventConsumer, Handler, event_consumer
from shopmesh.kit.events import EventEnvelope
from shopmesh.orders import service
from shopmesh.orders.domain import PaymentNotice
from shopmesh.orders.repository import OrdersUnitOfWork
from shopmesh.orders.settings import Settings


async def on_payment(uow: OrdersUnitOfWork, envelope: EventEnvelope) -> None:
    """``payment.authorized`` → Paid, ``payment.declined`` → Payment declined."""
    notice = PaymentNotice.model_validate(envelope.payload)
    await service.apply_payment(uow, envelope.event_type, notice)


HANDLERS: dict[str, Handler[OrdersUnitOfWork]] = {
    service.PAYMENT_AUTHORIZED: on_payment,
    service.PAYMENT_DECLINED: on_payment,
}


def payment_events_consumer(
    settings: Settings, units: Callable[[], OrdersUnitOfWork]
) -> EventConsumer[OrdersUnitOfWork]:
    """The durable consumer of payments' outcomes (``settings.payment_events_topic``)."""
    return event_consumer(
        settings,
        units,
        group_id=settings.group_id,
        topics=[settings.payment_events_topic],
        handlers=HANDLERS,
    )
