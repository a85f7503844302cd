"""Applying a batch of consumed events exactly once, in one unit of work.

The batch's event ids are recorded first (:mod:`.processed`); only the events
not seen before are handed to the service's handlers, in the same unit of
work, so their effects, the events they announce and their ids commit
together. Each applied event gets its span, its log line and its counts in
the trace context it came with.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Generic, TypeVar

from shopmesh.kit import tracing
from shopmesh.kit.consumer.processed import distinct, record_new
from shopmesh.kit.events import EventEnvelope
from shopmesh.kit.logging import log_fields, traceparent_var
from shopmesh.kit.metrics import EVENTS_CONSUMED
from shopmesh.kit.uow import UnitOfWork

log = logging.getLogger("shopmesh.kit.consumer")

U = TypeVar("U", bound=UnitOfWork)
# One event's effect, in the consumer's unit of work.
Handler = Callable[[U, EventEnvelope], Awaitable[None]]
# The new events of one batch (of the handled types) at once: an effect that folds many
# events into a few statements. The same effect as the handlers one by one.
BatchHandler = Callable[[U, Sequence[EventEnvelope]], Awaitable[None]]
# Whether an event of a handled type needs nothing done (its handler would change nothing):
# a batch of only such events is recorded as applied, alone.
RecordOnly = Callable[[EventEnvelope], bool]


class BatchApplier(Generic[U]):
    """Applies batches of ``group_id``'s events through ``handlers`` (by event type).

    Event types without a handler cost nothing: no unit of work, no
    processed-event row (a topic's other event types, often the service's own,
    would otherwise take one transaction per batch); they are counted as ignored.

    A batch whose every event ``record_only`` says needs nothing done is applied by
    recording its ids alone, in one statement that commits by itself (on PostgreSQL: no
    BEGIN and COMMIT round trips); each event is still applied once, logged and counted,
    and has its processed-event row like any other.
    """

    def __init__(
        self,
        units: Callable[[], U],
        *,
        service: str,
        group_id: str,
        handlers: Mapping[str, Handler[U]],
        batch_handler: BatchHandler[U] | None = None,
        applied_log_level: int = logging.INFO,
        record_only: RecordOnly | None = None,
    ) -> None:
        self._units = units
        self._record_only = record_only
        self._service = service
        self._group_id = group_id
        self._handlers = dict(handlers)
        self._batch_handler = batch_handler
        self._applied_log_level = applied_log_level
        self.applied = 0
        self.duplicates = 0

    def handled(self, envelopes: list[EventEnvelope]) -> list[EventEnvelope]:
        """The envelopes with a handler; the others are only logged and counted as ignored."""
        handled = [e for e in envelopes if e.event_type in self._handlers]
        if len(handled) < len(envelopes):
            for envelope in envelopes:
                if envelope.event_type not in self._handlers:
                    self._trace_applied(envelope)
        return handled

    @property
    def event_types(self) -> list[str]:
        """The event types this applier has a handler for."""
        return sorted(self._handlers)

    async def apply(self, envelopes: Sequence[EventEnvelope]) -> int:
        """Apply the events of ``envelopes`` not applied before and record their ids,
        atomically; how many were new (the others had been applied before)."""
        async with self._units() as uow:
            alone = self._record_only is not None and all(map(self._record_only, envelopes))
            batch = distinct(envelopes)
            new_ids = await record_new(uow.connection, self._group_id, batch, alone=alone)
            fresh = self._fresh_only(envelopes, new_ids)
            if not alone:
                if self._batch_handler is None:
                    for envelope in fresh:
                        with self._applying(envelope):
                            await self._handlers[envelope.event_type](uow, envelope)
                    return len(fresh)
                if fresh:
                    await self._batch_handler(uow, fresh)
            for envelope in fresh:  # applied: by being recorded alone, or by the batch handler
                self._trace_applied(envelope)
            return len(fresh)

    def _fresh_only(
        self, envelopes: Sequence[EventEnvelope], fresh_ids: Collection[str]
    ) -> list[EventEnvelope]:
        """The envelopes whose ids are in ``fresh_ids``, each id once (a second copy in the
        batch is a duplicate); the others are counted as duplicates."""
        unclaimed = set(fresh_ids)
        fresh: list[EventEnvelope] = []
        for envelope in envelopes:
            if envelope.event_id in unclaimed:
                unclaimed.discard(envelope.event_id)
                fresh.append(envelope)
            else:
                EVENTS_CONSUMED.labels(self._service, envelope.topic, "duplicate").inc()
                self.duplicates += 1
        return fresh

    def _trace_applied(self, envelope: EventEnvelope) -> None:
        """Span, log line and counts of an event applied (or ignored) as part of a batch."""
        with self._applying(envelope):
            pass

    @contextmanager
    def _applying(self, envelope: EventEnvelope) -> Iterator[None]:
        """The event's trace context around its effect; then its log line and counts."""
        traceparent = envelope.headers.get("traceparent")
        span = None
        if tracing.enabled():
            span, span_token, traceparent = tracing.start_span(
                f"apply {envelope.event_type}", traceparent, kind="consumer"
            )
        token = traceparent_var.set(traceparent)
        outcome = "applied" if envelope.event_type in self._handlers else "ignored"
        try:
            yield
            self._log_applied(envelope, outcome)
        finally:
            traceparent_var.reset(token)
            if span is not None:
                tracing.end_span(span, span_token, **_span_attributes(envelope))
        EVENTS_CONSUMED.labels(self._service, envelope.topic, outcome).inc()
        self.applied += 1

    def _log_applied(self, envelope: EventEnvelope, outcome: str) -> None:
        # Logged in the event's trace context, so the line carries the flow's trace id. An
        # ignored event is a debug line: most of a busy topic's events are ignored by most of
        # its consumers, and a line each cost more than skipping them.
        level = self._applied_log_level if outcome == "applied" else logging.DEBUG
        if log.isEnabledFor(level):
            fields = {
                "event_type": envelope.event_type,
                "event_id": envelope.event_id,
                "topic": envelope.topic,
                "partition": envelope.partition,
                "offset": envelope.offset,
                "consumer": self._group_id,
            }
            log_fields(log, level, f"event {outcome}", fields)


def _span_attributes(envelope: EventEnvelope) -> dict[str, str | int]:
    return {
        "messaging.system": "kafka",
        "messaging.destination.name": envelope.topic,
        "messaging.message.id": envelope.event_id,
        "shopmesh.event_type": envelope.event_type,
    }
