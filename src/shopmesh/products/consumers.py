"""Kafka handlers: ``order.cancelled`` in, the order's reservation released.

The kit's :class:`EventConsumer` records each event id in the same transaction
as the handler's effect, so a redelivered event changes nothing; the release
itself is idempotent too (a reservation gives its stock back once). A payload
without a valid ``reference`` raises: the consumer retries it, then dead-letters it.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from shopmesh.kit.consumer import EventConsumer, Handler
from shopmesh.kit.db import Database
from shopmesh.kit.events import EventEnvelope
from shopmesh.products.domain import OrderCancelled
from shopmesh.products.service import release_in
from shopmesh.products.settings import Settings

log = logging.getLogger(__name__)


async def on_order_cancelled(session: AsyncSession, envelope: EventEnvelope) -> None:
    """``order.cancelled``: the stock reserved under the order's reference comes back."""
    event = OrderCancelled.model_validate(envelope.payload)
    released = await release_in(session, str(event.reference))
    log.info(
        "order cancelled",
        extra={"reference": str(event.reference), "released": released},
    )


HANDLERS: dict[str, Handler] = {"order.cancelled": on_order_cancelled}


def order_events_consumer(db: Database, settings: Settings) -> EventConsumer:
    """The consumer of the order events topic, configured from ``settings``."""
    return EventConsumer(
        db,
        service=settings.service_name,
        bootstrap=settings.kafka_bootstrap,
        group_id=settings.group_id,
        handlers=HANDLERS,
        topics=[settings.order_events_topic],
        max_attempts=settings.consumer_max_attempts,
        retry_backoff=settings.consumer_retry_backoff,
        replication=settings.kafka_replication,
    )
