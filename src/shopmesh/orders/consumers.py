"""Kafka handlers: ``order.dispatched`` in, the order marked Dispatched in the same transaction.

The kit's consumer records each event id in the same
unit of work, so a redelivered event changes nothing; the UPDATE itself is
conditional too (only a Created order moves), so a cancelled order stays
cancelled and a replay under another event id is a no-op as well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shopmesh.kit.consumer import EventConsumer, Handler, event_consumer
from shopmesh.kit.events import EventEnvelope
from shopmesh.orders import service
from shopmesh.orders.domain import TOPIC, DispatchedNotice
from shopmesh.orders.repository import OrdersUnitOfWork
from shopmesh.orders.settings import Settings


async def on_order_dispatched(uow: OrdersUnitOfWork, envelope: EventEnvelope) -> None:
    """``order.dispatched``: a Created order becomes Dispatched (by the dispatcher); a
    cancelled one stays cancelled. The consumer's one-by-one path (retries)."""
    await on_order_dispatched_batch(uow, [envelope])


async def on_order_dispatched_batch(
    uow: OrdersUnitOfWork, envelopes: Sequence[EventEnvelope]
) -> None:
    """A batch's ``order.dispatched`` events in one UPDATE (the same effect as one by one)."""
    notices = [DispatchedNotice.model_validate(envelope.payload) for envelope in envelopes]
    await service.mark_all_dispatched(uow, [notice.id for notice in notices])


HANDLERS: dict[str, Handler[OrdersUnitOfWork]] = {"order.dispatched": on_order_dispatched}


def order_events_consumer(
    settings: Settings, units: Callable[[], OrdersUnitOfWork]
) -> EventConsumer[OrdersUnitOfWork]:
    """The durable consumer of ``order-events`` (its own events are skipped)."""
    return event_consumer(
        settings,
        units,
        group_id=settings.group_id,
        topics=[TOPIC],
        handlers=HANDLERS,
        batch_handler=on_order_dispatched_batch,
    )
