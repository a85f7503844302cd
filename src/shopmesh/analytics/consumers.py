"""Kafka handlers: a ``transactions`` event in, the totals updated in the consumer's transaction.

The kit's :class:`EventConsumer` records each event id in the same transaction
as these handlers' effect, so a redelivered event changes nothing. A payload
that fails validation raises: the consumer retries it, then dead-letters it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shopmesh.analytics import service
from shopmesh.analytics.domain import TransactionCreated, TransactionPaid
from shopmesh.analytics.settings import Settings
from shopmesh.kit.consumer import EventConsumer, Handler
from shopmesh.kit.db import Database
from shopmesh.kit.events import EventEnvelope


async def on_transaction_created(session: AsyncSession, envelope: EventEnvelope) -> None:
    """``transaction.created``: one more transaction and its amount."""
    event = TransactionCreated.model_validate(envelope.payload)
    await service.record_transaction_created(session, event)


async def on_transaction_paid(session: AsyncSession, envelope: EventEnvelope) -> None:
    """``transaction.paid``: the user's transactions that were just paid."""
    event = TransactionPaid.model_validate(envelope.payload)
    await service.record_transaction_paid(session, event)


async def on_transactions(session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
    """A batch of ``transactions`` events folded into the totals in a few statements."""
    await service.record_transactions(session, _parse(envelopes))


async def apply_transactions(
    connection: AsyncConnection, consumer: str, envelopes: Sequence[EventEnvelope]
) -> list[str]:
    """PostgreSQL: the batch's new events folded into the totals and recorded, one statement."""
    return await service.record_new_transactions(connection, consumer, envelopes, _parse(envelopes))


def _parse(envelopes: Sequence[EventEnvelope]) -> list[TransactionCreated | TransactionPaid]:
    return [_PARSERS[e.event_type].model_validate(e.payload) for e in envelopes]


_PARSERS: dict[str, type[TransactionCreated] | type[TransactionPaid]] = {
    "transaction.created": TransactionCreated,
    "transaction.paid": TransactionPaid,
}

HANDLERS: dict[str, Handler] = {
    "transaction.created": on_transaction_created,
    "transaction.paid": on_transaction_paid,
}


def transaction_consumer(db: Database, settings: Settings) -> EventConsumer:
    """The consumer of the transactions topic, configured from ``settings``."""
    return EventConsumer(
        db,
        service=settings.service_name,
        bootstrap=settings.kafka_bootstrap,
        group_id=settings.group_id,
        handlers=HANDLERS,
        topics=[settings.topic],
        max_attempts=settings.consumer_max_attempts,
        retry_backoff=settings.consumer_retry_backoff,
        batch_handler=on_transactions,
        statement_handler=apply_transactions,
        replication=settings.kafka_replication,
    )
