"""Kafka handlers: ``order.dispatched`` and payments' ``payment.authorized`` /
``payment.declined`` in, the order's status changed in the same transaction.

The kit's consumer records each event id in the same unit of work, so a
redelivered event changes nothing; the UPDATEs themselves are conditional
too (only a Paid order is dispatched, only a Created one is paid or
declined), so a cancelled order stays cancelled and a replay under another
event id is a no-op as well. Orders itself decides each dispatch (the
dispatcher asks it before it ships, ``POST /api/orders/dispatches``), so the
dispatcher's ``order.dispatched`` finds its order Dispatched already: its
UPDATE changes no row (redundant work, left in place for now).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shopmesh.kit.consumer import EventConsumer, Handler, event_consumer
from shopmesh.kit.events import EventEnvelope
from shopmesh.orders import service
from shopmesh.orders.domain import TOPIC, DispatchedNotice, PaymentNotice
from shopmesh.orders.repository import OrdersUnitOfWork
from shopmesh.orders.settings import Settings

DISPATCHED = "order.dispatched"


async def on_order_dispatched(uow: OrdersUnitOfWork, envelope: EventEnvelope) -> None:
    """``order.dispatched``: the order is Dispatched (orders confirmed it before the
    dispatcher shipped, so this changes no row); a cancelled one stays cancelled."""
    await on_events(uow, [envelope])


async def on_payment(uow: OrdersUnitOfWork, envelope: EventEnvelope) -> None:
    """``payment.authorized`` → Paid, ``payment.declined`` → Payment declined."""
    notice = PaymentNotice.model_validate(envelope.payload)
    await service.apply_payment(uow, envelope.event_type, notice)


async def on_events(uow: OrdersUnitOfWork, envelopes: Sequence[EventEnvelope]) -> None:
    """A batch's events: the ``order.dispatched`` ones in one UPDATE (the same effect as one by
    one), the payments' one by one, in their order (each is about another order)."""
    dispatched = [e for e in envelopes if e.event_type == DISPATCHED]
    if dispatched:
        notices = [DispatchedNotice.model_validate(e.payload) for e in dispatched]
        await service.mark_all_dispatched(uow, [notice.id for notice in notices])
    for envelope in envelopes:
        if envelope.event_type != DISPATCHED:
            await on_payment(uow, envelope)


HANDLERS: dict[str, Handler[OrdersUnitOfWork]] = {
    DISPATCHED: on_order_dispatched,
    service.PAYMENT_AUTHORIZED: on_payment,
    service.PAYMENT_DECLINED: on_payment,
}


def order_events_consumer(
    settings: Settings, units: Callable[[], OrdersUnitOfWork]
) -> EventConsumer[OrdersUnitOfWork]:
    """The durable consumer of ``order-events`` (its own events are skipped) and of payments'
    outcomes."""
    return event_consumer(
        settings,
        units,
        group_id=settings.group_id,
        topics=[TOPIC, settings.payment_events_topic],
        handlers=HANDLERS,
        batch_handler=on_events,
    )
