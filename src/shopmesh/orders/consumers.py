"""Kafka handlers: ``order.dispatched`` in, the order marked Dispatched in the same transaction.

The kit's :class:`EventConsumer` records each event id in the same
transaction, so a redelivered event changes nothing; the UPDATE itself is
conditional too (only a Created order moves), so a cancelled order stays
cancelled and a replay under another event id is a no-op as well.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from shopmesh.kit.consumer import EventConsumer, Handler
from shopmesh.kit.db import Database
from shopmesh.kit.events import EventEnvelope
from shopmesh.orders import service
from shopmesh.orders.domain import TOPIC, DispatchedNotice
from shopmesh.orders.settings import Settings


async def on_order_dispatched(session: AsyncSession, envelope: EventEnvelope) -> None:
    """``order.dispatched``: a Created order becomes Dispatched (by the dispatcher); a
    cancelled one stays cancelled. The consumer's one-by-one path (retries)."""
    await on_order_dispatched_batch(session, [envelope])


async def on_order_dispatched_batch(
    session: AsyncSession, envelopes: Sequence[EventEnvelope]
) -> None:
    """A batch's ``order.dispatched`` events in one UPDATE (the same effect as one by one)."""
    notices = [DispatchedNotice.model_validate(envelope.payload) for envelope in envelopes]
    await service.mark_all_dispatched(session, [notice.id for notice in notices])


HANDLERS: dict[str, Handler] = {"order.dispatched": on_order_dispatched}


def order_events_consumer(db: Database, settings: Settings) -> EventConsumer:
    """The durable consumer of ``order-events`` (its own events are skipped)."""
    return EventConsumer(
        db,
        service=settings.service_name,
        bootstrap=settings.kafka_bootstrap,
        group_id=settings.group_id,
        handlers=HANDLERS,
        batch_handler=on_order_dispatched_batch,
        topics=[TOPIC],
        max_attempts=settings.consumer_max_attempts,
        retry_backoff=settings.consumer_retry_backoff,
        replication=settings.kafka_replication,
    )
