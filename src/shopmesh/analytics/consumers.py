"""Kafka handlers: ``transactions`` events in, the totals updated in the consumer's unit of work.

The kit's consumer records each event id in the same unit of work as these
handlers' effect, so a redelivered event changes nothing. A payload that
fails validation raises: the consumer retries it, then dead-letters it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shopmesh.analytics.domain import (
    TransactionCreated,
    TransactionEvent,
    TransactionPaid,
    TransactionVoided,
)
from shopmesh.analytics.repository import AnalyticsUnitOfWork
from shopmesh.analytics.service import record_events
from shopmesh.analytics.settings import Settings
from shopmesh.kit.consumer import EventConsumer, Handler, event_consumer
from shopmesh.kit.events import EventEnvelope

_PARSERS: dict[str, type[TransactionEvent]] = {
    "transaction.created": TransactionCreated,
    "transaction.paid": TransactionPaid,
    "transaction.voided": TransactionVoided,
}


async def on_transaction(uow: AnalyticsUnitOfWork, envelope: EventEnvelope) -> None:
    """``transaction.created`` (one more transaction and its amount), ``transaction.paid``
    (the user's transactions that were just paid) or ``transaction.voided`` (one less)."""
    await record_events(uow, _parse([envelope]))


async def on_transactions(uow: AnalyticsUnitOfWork, envelopes: Sequence[EventEnvelope]) -> None:
    """A batch of ``transactions`` events folded into the totals in a few statements."""
    await record_events(uow, _parse(envelopes))


def _parse(envelopes: Sequence[EventEnvelope]) -> list[TransactionEvent]:
    return [_PARSERS[e.event_type].model_validate(e.payload) for e in envelopes]


HANDLERS: dict[str, Handler[AnalyticsUnitOfWork]] = dict.fromkeys(_PARSERS, on_transaction)


def transactions_consumer(
    settings: Settings, units: Callable[[], AnalyticsUnitOfWork]
) -> EventConsumer[AnalyticsUnitOfWork]:
    """The consumer of the transactions topic."""
    return event_consumer(
        settings,
        units,
        group_id=settings.group_id,
        topics=[settings.topic],
        handlers=HANDLERS,
        batch_handler=on_transactions,
    )
