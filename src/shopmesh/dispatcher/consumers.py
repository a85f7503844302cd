"""Kafka handlers: ``order-events`` in, shipments recorded or cancelled in the same transaction.

The kit's :class:`EventConsumer` records each event id in the same
transaction as these handlers' effect, so a redelivered event changes
nothing; a second ``order.created`` for one order (another event id) finds
the shipment already there. A payload that fails validation raises: the
consumer retries it, then dead-letters it. ``order.dispatched`` (our own
event, on the same topic) has no handler and is skipped.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shopmesh.dispatcher.domain import ORDER_EVENTS, OrderSnapshot
from shopmesh.dispatcher.service import DispatchService
from shopmesh.dispatcher.settings import Settings
from shopmesh.kit.consumer import EventConsumer, Handler
from shopmesh.kit.db import Database
from shopmesh.kit.events import EventEnvelope


def order_handlers(dispatcher: DispatchService) -> dict[str, Handler]:
    """The handlers of ``order.created`` and ``order.cancelled``."""

    async def on_order_created(session: AsyncSession, envelope: EventEnvelope) -> None:
        await dispatcher.record_order(session, OrderSnapshot.model_validate(envelope.payload))

    async def on_order_cancelled(session: AsyncSession, envelope: EventEnvelope) -> None:
        await dispatcher.cancel_order(session, OrderSnapshot.model_validate(envelope.payload))

    return {"order.created": on_order_created, "order.cancelled": on_order_cancelled}


def order_consumer(
    db: Database, settings: Settings, *, dispatcher: DispatchService
) -> EventConsumer:
    """The consumer of ``order-events``, in the group ``settings.group_id``."""
    return EventConsumer(
        db,
        service=settings.service_name,
        bootstrap=settings.kafka_bootstrap,
        group_id=settings.group_id,
        handlers=order_handlers(dispatcher),
        topics=[ORDER_EVENTS],
        max_attempts=settings.consumer_max_attempts,
        retry_backoff=settings.consumer_retry_backoff,
        replication=settings.kafka_replication,
    )
