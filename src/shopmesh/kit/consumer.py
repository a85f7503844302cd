"""The idempotent consumer: an event's effect and its ``event_id`` commit together.

Messages are applied a partition batch at a time in one transaction; when a
batch fails, its messages are retried one by one, and one that still fails
after ``max_attempts`` goes to ``<topic>.dlq`` with the reason, so a poison
message never stops the partition. Database outages are not the message's
fault: the batch is rewound and retried until the database answers. Offsets
are committed for all partitions at once, at most every :data:`COMMIT_INTERVAL`
while messages keep coming and as soon as the topic goes quiet; after a crash
the events since the last commit are read again and dropped as duplicates.

On PostgreSQL a consumer may apply a batch in one statement instead (a
:data:`StatementHandler`): the effect and the ``processed_event`` rows of the
events not seen before (:data:`FRESH_EVENTS_CTE`) in one statement, atomic on
its own, so it runs in autocommit: one round trip per batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError
from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shopmesh.kit import tracing
from shopmesh.kit.aio import describe, retrying
from shopmesh.kit.db import Database, is_transient_db_error
from shopmesh.kit.events import EventEnvelope, MalformedEvent
from shopmesh.kit.kafka import ensure_topics, idempotent_producer
from shopmesh.kit.logging import log_fields, traceparent_var
from shopmesh.kit.metrics import CONSUMER_LAG, EVENTS_CONSUMED
from shopmesh.kit.tables import processed_event

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, Sequence[EventEnvelope]], Awaitable[None]]
# Applies the events of a batch (distinct ids, handled types) that ``consumer`` has not
# applied before AND records their ids, in one statement that starts with
# FRESH_EVENTS_CTE; returns the ids it applied. Arguments: connection, consumer, batch.
StatementHandler = Callable[
    [AsyncConnection, str, Sequence[EventEnvelope]], Awaitable[Collection[str]]
]

# Records the batch's ids for the consumer and returns the ids that were not recorded
# yet, the events to apply. Its parameters: fresh_events_params(). The consumer's own
# transaction runs it before the handlers; a StatementHandler puts it in a CTE named
# ``fresh`` (FRESH_EVENTS_CTE). A copy of the batch running at the same time in another
# transaction (a rebalance) waits on the first one's rows and then gets none back.
RECORD_FRESH_EVENTS = """INSERT INTO processed_event
        (consumer, event_id, topic, partition, "offset", processed_at)
    SELECT :consumer, e.event_id, e.topic, e.partition, e.offset, :processed_at
    FROM unnest(
        CAST(:event_ids AS text[]), CAST(:topics AS text[]),
        CAST(:partitions AS integer[]), CAST(:offsets AS bigint[])
    ) AS e(event_id, topic, partition, "offset")
    ON CONFLICT DO NOTHING
    RETURNING event_id"""
FRESH_EVENTS_CTE = f"fresh AS ({RECORD_FRESH_EVENTS})"


def fresh_events_params(consumer: str, envelopes: Sequence[EventEnvelope]) -> dict[str, Any]:
    """The parameters of :data:`FRESH_EVENTS_CTE` for ``envelopes`` (distinct ids)."""
    return {
        "consumer": consumer,
        "processed_at": datetime.now(UTC),
        "event_ids": [e.event_id for e in envelopes],
        "topics": [e.topic for e in envelopes],
        "partitions": [e.partition for e in envelopes],
        "offsets": [e.offset for e in envelopes],
    }


# Seconds between offset commits while messages keep coming. Each commit is a Kafka
# request and a write to its offsets log; committing after every fetch cost that once
# per message at moderate rates. A crash re-reads at most this much (duplicates dropped).
COMMIT_INTERVAL = 0.5
# Seconds a stopping consumer waits for its last commit.
STOP_COMMIT_TIMEOUT = 5.0


class EventConsumer:
    """Consumes ``topics`` as ``group_id`` and applies each event type's handler exactly once.

    Event types without a handler are skipped (their offsets still committed,
    no processed-event row written). With
    ``batch_handler``, the new events of the handled types in one batch are
    applied by one call of it instead of one handler call each (an effect that
    folds many events into a few statements); a failing batch is still retried
    one event at a time through it, so a poison message is found the same way.
    With ``statement_handler``, a batch on PostgreSQL is applied by it in one
    statement in autocommit instead (on SQLite the handlers run as above).
    """

    def __init__(
        self,
        db: Database,
        *,
        service: str,
        bootstrap: str,
        group_id: str,
        handlers: Mapping[str, Handler],
        topics: Sequence[str],
        max_attempts: int = 3,
        retry_backoff: float = 0.2,
        batch_size: int = 500,
        applied_log_level: int | str = logging.INFO,
        batch_handler: BatchHandler | None = None,
        statement_handler: StatementHandler | None = None,
        replication: int = 1,
        commit_interval: float = COMMIT_INTERVAL,
    ) -> None:
        self._db = db
        self._commit_interval = commit_interval
        self._service = service
        self._bootstrap = bootstrap
        self._group_id = group_id
        self._handlers = dict(handlers)
        self._batch_handler = batch_handler
        self._statement_handler = None if db.is_sqlite else statement_handler
        self._topics = tuple(topics)
        self._max_attempts = max_attempts
        self._retry_backoff = retry_backoff
        self._batch_size = batch_size
        self._replication = replication
        self._applied_log_level = (
            logging.getLevelName(applied_log_level.upper())
            if isinstance(applied_log_level, str)
            else applied_log_level
        )
        self.applied = 0
        self.duplicates = 0

    async def run(self) -> None:
        """Consume forever; reconnects after Kafka or database outages."""
        await retrying(
            self._consume,
            what=f"consumer {self._group_id}",
            pause=max(self._retry_backoff, 0.5),
            log=log,
        )

    async def _consume(self) -> None:
        await ensure_topics(
            self._bootstrap,
            [*self._topics, *(f"{t}.dlq" for t in self._topics)],
            replication=self._replication,
        )
        consumer = AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=self._bootstrap,
            group_id=self._group_id,
            client_id=f"{self._service}-{self._group_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        dlq = idempotent_producer(self._bootstrap, client_id=f"{self._service}-dlq")
        applied: dict[TopicPartition, int] = {}  # next offsets, not committed yet
        try:
            # Started inside the try: a task cancelled while starting still closes both.
            await consumer.start()
            await dlq.start()
            committed_at = time.monotonic()
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=self._batch_size)
                for partition, records in batches.items():
                    if await self._handle_partition(consumer, dlq, partition, records):
                        applied[partition] = records[-1].offset + 1
                # One commit for all partitions, at most every commit_interval while messages
                # keep coming, and as soon as a fetch comes back empty.
                due = time.monotonic() - committed_at >= self._commit_interval
                if applied and (due or not batches):
                    await self._commit(consumer, applied)
                    applied = {}
                    committed_at = time.monotonic()
        finally:
            if applied:
                await self._commit_before_stop(consumer, applied)
            await consumer.stop()
            await dlq.stop()

    async def _commit_before_stop(
        self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]
    ) -> None:
        """Stopping: commit what was applied, if Kafka answers soon (else it is re-read)."""
        try:
            async with asyncio.timeout(STOP_COMMIT_TIMEOUT):
                await self._commit(consumer, offsets)
        except Exception as exc:
            log.info(
                "consumer %s: offsets not committed at stop: %s", self._group_id, describe(exc)
            )

    async def _handle_partition(
        self,
        consumer: AIOKafkaConsumer,
        dlq: AIOKafkaProducer,
        partition: TopicPartition,
        records: list[ConsumerRecord[bytes, bytes]],
    ) -> bool:
        """Apply a partition's records; False when the database was away (rewound)."""
        try:
            await self._apply_records(dlq, records)
        except Exception as exc:
            if not is_transient_db_error(exc):
                raise
            # The database is away: not the messages' fault. Rewind and try again later.
            consumer.seek(partition, records[0].offset)
            log.warning("consumer %s: database unavailable, will retry", self._group_id)
            await asyncio.sleep(max(self._retry_backoff, 0.5))
            return False
        return True

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        """One offset commit (one Kafka request) for the partitions still assigned to us.

        A partition the group moved elsewhere in the meantime is re-read by its new
        owner from the last commit: those events are already applied and are dropped
        as duplicates, so nothing is lost and nothing is applied twice.
        """
        assigned = consumer.assignment()
        offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except CommitFailedError:
            log.info("consumer %s: group rebalanced, offsets left to the new owner", self._group_id)
            return
        for partition, next_offset in offsets.items():
            highwater = consumer.highwater(partition)
            if highwater is not None:
                CONSUMER_LAG.labels(self._service, partition.topic, str(partition.partition)).set(
                    max(highwater - next_offset, 0)
                )

    async def _apply_records(
        self, dlq: AIOKafkaProducer, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        envelopes: list[EventEnvelope] = []
        for record in records:
            try:
                envelopes.append(_envelope(record))
            except MalformedEvent as exc:
                await self._dead_letter(dlq, record, f"malformed: {exc}")
        envelopes = self._skip_unhandled(envelopes)
        if not envelopes:
            return
        try:
            await self.apply_batch(envelopes)
        except Exception as exc:
            if is_transient_db_error(exc):
                raise
            # Somebody in the batch is poison: find it by applying them one at a time.
            for envelope, record in zip(envelopes, _records_for(records, envelopes), strict=True):
                await self._apply_one_with_retries(dlq, record, envelope)

    def _skip_unhandled(self, envelopes: list[EventEnvelope]) -> list[EventEnvelope]:
        """The envelopes with a handler; the others are only logged and counted as ignored.

        An event without a handler has no effect to guard, so it costs no
        transaction and no processed-event row (a topic's other event types, often
        the service's own, would otherwise take one transaction per batch).
        """
        handled = [e for e in envelopes if e.event_type in self._handlers]
        if len(handled) < len(envelopes):
            for envelope in envelopes:
                if envelope.event_type not in self._handlers:
                    self._trace_applied(envelope)
        return handled

    async def apply_batch(self, envelopes: list[EventEnvelope]) -> None:
        """Apply the events of ``envelopes`` not applied before and record their ids, atomically."""
        if self._statement_handler is None:
            async with self._db.transaction() as session:
                await self._apply_all(session, envelopes)
            return
        async with self._db.connection(autocommit=True) as connection:
            applied = await self._statement_handler(
                connection, self._group_id, _distinct(envelopes)
            )
        for envelope in self._fresh_only(envelopes, applied):
            self._trace_applied(envelope)

    def _fresh_only(
        self, envelopes: list[EventEnvelope], fresh_ids: Collection[str]
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

    async def _apply_all(self, session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
        """Record the batch's ids first (one statement), then apply the events it had not
        seen; the effects and the ids commit together with the caller's transaction."""
        fresh_ids = await self._record_fresh(session, _distinct(envelopes))
        fresh = self._fresh_only(envelopes, fresh_ids)
        if not fresh:
            return
        if self._batch_handler is not None:
            await self._batch_handler(session, fresh)
            for envelope in fresh:
                self._trace_applied(envelope)
        else:
            for envelope in fresh:
                await self._apply(session, envelope)

    async def _record_fresh(
        self, session: AsyncSession, envelopes: Sequence[EventEnvelope]
    ) -> set[str]:
        """Insert the processed-event rows of ``envelopes`` (distinct ids) that are missing;
        the ids inserted, the events this consumer has not applied before."""
        if not self._db.is_sqlite:
            statement = text(RECORD_FRESH_EVENTS)
            params = fresh_events_params(self._group_id, envelopes)
            return set((await session.execute(statement, params)).scalars())
        now = datetime.now(UTC)
        rows = [
            {
                "consumer": self._group_id,
                "event_id": e.event_id,
                "topic": e.topic,
                "partition": e.partition,
                "offset": e.offset,
                "processed_at": now,
            }
            for e in envelopes
        ]
        insert = sqlite.insert(processed_event).values(rows).on_conflict_do_nothing()
        result = await session.execute(insert.returning(processed_event.c.event_id))
        return set(result.scalars())

    async def _apply(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        handler = self._handlers.get(envelope.event_type)
        with self._applying(envelope):
            if handler is not None:
                await handler(session, envelope)

    def _trace_applied(self, envelope: EventEnvelope) -> None:
        """Span, log line and counts of one event that a batch handler applied."""
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
        # Logged in the event's trace context, so the line carries the flow's trace id.
        if log.isEnabledFor(self._applied_log_level):
            fields = {
                "event_type": envelope.event_type,
                "event_id": envelope.event_id,
                "topic": envelope.topic,
                "partition": envelope.partition,
                "offset": envelope.offset,
                "consumer": self._group_id,
            }
            log_fields(log, self._applied_log_level, f"event {outcome}", fields)

    async def _apply_one_with_retries(
        self,
        dlq: AIOKafkaProducer,
        record: ConsumerRecord[bytes, bytes],
        envelope: EventEnvelope,
    ) -> None:
        for attempt in range(1, self._max_attempts + 1):
            try:
                await self.apply_batch([envelope])
                return
            except Exception as exc:
                if is_transient_db_error(exc):
                    raise
                reason = f"{type(exc).__name__}: {str(exc)[:300]}"
                log.warning(
                    "event failed",
                    extra={"event_id": envelope.event_id, "attempt": attempt, "reason": reason},
                )
                if attempt == self._max_attempts:
                    EVENTS_CONSUMED.labels(self._service, envelope.topic, "failed").inc()
                    await self._dead_letter(dlq, record, reason)
                    return
                await asyncio.sleep(self._retry_backoff * 2 ** (attempt - 1))

    async def _dead_letter(
        self, dlq: AIOKafkaProducer, record: ConsumerRecord[bytes, bytes], reason: str
    ) -> None:
        headers = [
            *(record.headers or ()),
            ("dlq_reason", reason.encode()),
            ("dlq_source", f"{record.topic}/{record.partition}/{record.offset}".encode()),
            ("dlq_consumer", self._group_id.encode()),
        ]
        await dlq.send_and_wait(
            f"{record.topic}.dlq", value=record.value, key=record.key, headers=headers
        )
        EVENTS_CONSUMED.labels(self._service, record.topic, "dead_lettered").inc()
        log.error("event dead-lettered", extra={"source": record.topic, "reason": reason})


def _distinct(envelopes: Sequence[EventEnvelope]) -> list[EventEnvelope]:
    """The first envelope of each event id, in order (a batch may hold a resent copy)."""
    first: dict[str, EventEnvelope] = {}
    for envelope in envelopes:
        first.setdefault(envelope.event_id, envelope)
    return list(first.values())


def _span_attributes(envelope: EventEnvelope) -> dict[str, str | int]:
    return {
        "messaging.system": "kafka",
        "messaging.destination.name": envelope.topic,
        "messaging.message.id": envelope.event_id,
        "shopmesh.event_type": envelope.event_type,
    }


def _envelope(record: ConsumerRecord[bytes, bytes]) -> EventEnvelope:
    # Kafka allows null header values; one must not crash the loop (it would wedge the partition).
    headers = {k: v.decode("utf-8", "replace") for k, v in (record.headers or ()) if v is not None}
    return EventEnvelope.parse(
        record.value,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        headers=headers,
    )


def _records_for(
    records: list[ConsumerRecord[bytes, bytes]], envelopes: list[EventEnvelope]
) -> list[ConsumerRecord[bytes, bytes]]:
    by_offset = {(r.partition, r.offset): r for r in records}
    return [by_offset[(e.partition, e.offset)] for e in envelopes]
