"""Kafka handlers: ``order-events`` in, shipments recorded or cancelled in the same transaction.

A shipment is recorded on ``order.paid``, or on ``order.created`` for an order
that requires no payment (``ORDERS_REQUIRE_PAYMENT=false``: the commerce
seed's flow).

The kit's :class:`EventConsumer` records each event id in the same
transaction as these handlers' effect, so a redelivered event changes
nothing; a second ``order.created`` for one order (another event id) finds
the shipment already there. A payload that fails validation raises: the
consumer retries it, then dead-letters it. ``order.dispatched`` (our own
event, on the same topic) has no handler and is skipped.
"""

from __future__ import annotations

from collections.abc import Callable

from shopmesh.dispatcher.domain import ORDER_EVENTS, OrderSnapshot
from shopmesh.dispatcher.repository import DispatcherUnitOfWork
from shopmesh.dispatcher.service import DispatchService
from shopmesh.dispatcher.settings import Settings
from shopmesh.kit.consumer import EventConsumer, Handler, event_consumer
from shopmesh.kit.events import EventEnvelope


def order_handlers(dispatcher: DispatchService) -> dict[str, Handler[DispatcherUnitOfWork]]:
    """The handlers of ``order.created``, ``order.paid`` and ``order.cancelled``."""

    async def on_order_created(uow: DispatcherUnitOfWork, envelope: EventEnvelope) -> None:
        order = OrderSnapshot.model_validate(envelope.payload)
        if not order.payment_required:  # else it waits for order.paid
            await dispatcher.record_order(uow, order)

    async def on_order_paid(uow: DispatcherUnitOfWork, envelope: EventEnvelope) -> None:
        await dispatcher.record_order(uow, OrderSnapshot.model_validate(envelope.payload))

    async def on_order_cancelled(uow: DispatcherUnitOfWork, envelope: EventEnvelope) -> None:
        await dispatcher.cancel_order(uow, OrderSnapshot.model_validate(envelope.payload))

    return {
        "order.created": on_order_created,
        "order.paid": on_order_paid,
        "order.cancelled": on_order_cancelled,
    }


def waits_for_payment(envelope: EventEnvelope) -> bool:
    """An ``order.created`` whose order waits for its payment: ``order.paid`` makes its
    shipment, so it needs nothing done but being recorded (see ``on_order_created``)."""
    if envelope.event_type != "order.created":
        return False
    return OrderSnapshot.model_validate(envelope.payload).payment_required


def order_consumer(
    settings: Settings,
    units: Callable[[], DispatcherUnitOfWork],
    *,
    dispatcher: DispatchService,
) -> EventConsumer[DispatcherUnitOfWork]:
    """The consumer of ``order-events``, in the group ``settings.group_id``."""
    return event_consumer(
        settings,
        units,
        group_id=settings.group_id,
        topics=[ORDER_EVENTS],
        handlers=order_handlers(dispatcher),
        record_only=waits_for_payment,
    )
