"""The Kafka side of the idempotent consumer: fetch, apply, commit offsets, dead-letter.

Messages are applied a partition batch at a time in one unit of work (see
:mod:`.applier`); when a batch fails, its messages are retried one by one, and
one that still fails after ``max_attempts`` goes to ``<topic>.dlq`` with the
reason, so a poison message never stops the partition. Database outages are
not the message's fault: the batch is rewound and retried until the database
answers. Offsets are committed for all partitions at once, at most every
:data:`COMMIT_INTERVAL` while messages keep coming and as soon as the topic
goes quiet; after a crash the events since the last commit are read again and
dropped as duplicates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError

from shopmesh.kit.aio import describe, retrying
from shopmesh.kit.consumer.applier import BatchApplier, BatchHandler, Handler, RecordOnly
from shopmesh.kit.consumer.deadletters import dead_letter_headers, envelope_of, failure_reason
from shopmesh.kit.db import is_transient_db_error
from shopmesh.kit.events import EventEnvelope, MalformedEvent
from shopmesh.kit.kafka import KafkaNamespace, ensure_topics, fetch_options, idempotent_producer
from shopmesh.kit.metrics import CONSUMER_LAG, EVENTS_CONSUMED
from shopmesh.kit.uow import UnitOfWork

log = logging.getLogger("shopmesh.kit.consumer")
U = TypeVar("U", bound=UnitOfWork)

# Seconds between offset commits while messages keep coming. Each commit is a Kafka
# request and a write to its offsets log; committing after every fetch cost that once
# per message at moderate rates. A crash re-reads at most this much (duplicates dropped).
COMMIT_INTERVAL = 0.5
# Seconds a stopping consumer waits for its last commit.
STOP_COMMIT_TIMEOUT = 5.0


class EventConsumer(Generic[U]):
    """Consumes ``topics`` as ``group_id`` and applies each event type's handler exactly once.

    Each batch runs in a unit of work from ``units``. Event types without a
    handler are skipped (their offsets still committed, no processed-event row
    written). With ``batch_handler``, the new events of the handled types in
    one batch are applied by one call of it instead of one handler call each; a
    failing batch is still retried one event at a time through it, so a poison
    message is found the same way.

    ``fetch_wait``: see :func:`~shopmesh.kit.kafka.fetch_options` (0: each message at once).
    ``record_only``: which events of the handled types need nothing done (see
    :class:`~shopmesh.kit.consumer.applier.BatchApplier`).
    ``topics``, ``group_id``: plain names (as stored and shown); the broker's are in ``namespace``.
    """

    def __init__(
        self,
        units: Callable[[], U],
        *,
        service: str,
        bootstrap: str,
        group_id: str,
        handlers: Mapping[str, Handler[U]],
        topics: Sequence[str],
        max_attempts: int = 3,
        retry_backoff: float = 0.2,
        batch_size: int = 500,
        applied_log_level: int = logging.INFO,
        batch_handler: BatchHandler[U] | None = None,
        replication: int = 1,
        commit_interval: float = COMMIT_INTERVAL,
        fetch_wait: float = 0.0,
        namespace: KafkaNamespace = KafkaNamespace(),
        record_only: RecordOnly | None = None,
    ) -> None:
        self._applier = BatchApplier(
            units,
            service=service,
            group_id=group_id,
            handlers=handlers,
            batch_handler=batch_handler,
            applied_log_level=applied_log_level,
            record_only=record_only,
        )
        self._commit_interval = commit_interval
        self._service = service
        self._bootstrap = bootstrap
        self._group_id = group_id
        self._topics = tuple(topics)
        self._max_attempts = max_attempts
        self._retry_backoff = retry_backoff
        self._batch_size = batch_size
        self._replication = replication
        self._fetch_wait = fetch_wait
        self._namespace = namespace
        # Each partition's lag at the last commit: (topic, partition) -> messages behind.
        self.lag: dict[tuple[str, int], int] = {}

    @property
    def group_id(self) -> str:
        return self._group_id

    @property
    def topics(self) -> tuple[str, ...]:
        return self._topics

    @property
    def event_types(self) -> list[str]:
        """The event types this consumer applies (the others it skips)."""
        return self._applier.event_types

    @property
    def applied(self) -> int:
        """Events applied (or ignored: no handler) since start."""
        return self._applier.applied

    @property
    def duplicates(self) -> int:
        """Events dropped because they had been applied before."""
        return self._applier.duplicates

    async def apply_batch(self, envelopes: Sequence[EventEnvelope]) -> int:
        """Apply the events of ``envelopes`` not applied before and record their ids,
        atomically; how many were new."""
        return await self._applier.apply(envelopes)

    async def run(self) -> None:
        """Consume forever; reconnects after Kafka or database outages."""
        await retrying(
            self._consume,
            what=f"consumer {self._group_id}",
            pause=max(self._retry_backoff, 0.5),
            log=log,
        )

    async def _consume(self) -> None:
        topics = [self._namespace.topic(t) for t in self._topics]
        dead_letters = [self._namespace.dead_letters(t) for t in self._topics]
        await ensure_topics(
            self._bootstrap, [*topics, *dead_letters], replication=self._replication
        )
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=self._bootstrap,
            group_id=self._namespace.group(self._group_id),
            client_id=f"{self._service}-{self._group_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            **fetch_options(self._fetch_wait),
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
                topic = self._namespace.plain(partition.topic)
                lag = self.lag[(topic, partition.partition)] = max(highwater - next_offset, 0)
                CONSUMER_LAG.labels(self._service, topic, str(partition.partition)).set(lag)

    async def _apply_records(
        self, dlq: AIOKafkaProducer, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        envelopes: list[EventEnvelope] = []
        for record in records:
            try:
                envelopes.append(envelope_of(record, topic=self._namespace.plain(record.topic)))
            except MalformedEvent as exc:
                await self._dead_letter(dlq, record, f"malformed: {exc}", attempts=1)
        envelopes = self._applier.handled(envelopes)
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
                reason = failure_reason(exc)
                log.warning(
                    "event failed",
                    extra={"event_id": envelope.event_id, "attempt": attempt, "reason": reason},
                )
                if attempt == self._max_attempts:
                    EVENTS_CONSUMED.labels(self._service, envelope.topic, "failed").inc()
                    await self._dead_letter(dlq, record, reason, attempts=attempt)
                    return
                await asyncio.sleep(self._retry_backoff * 2 ** (attempt - 1))

    async def _dead_letter(
        self,
        dlq: AIOKafkaProducer,
        record: ConsumerRecord[bytes, bytes],
        reason: str,
        *,
        attempts: int,
    ) -> None:
        topic = self._namespace.plain(record.topic)
        headers = dead_letter_headers(
            record, topic=topic, reason=reason, consumer=self._group_id, attempts=attempts
        )
        dead_letters = self._namespace.dead_letters(topic)
        await dlq.send_and_wait(dead_letters, value=record.value, key=record.key, headers=headers)
        EVENTS_CONSUMED.labels(self._service, topic, "dead_lettered").inc()
        log.error("event dead-lettered", extra={"source": topic, "reason": reason})


def _records_for(
    records: list[ConsumerRecord[bytes, bytes]], envelopes: list[EventEnvelope]
) -> list[ConsumerRecord[bytes, bytes]]:
    by_offset = {(r.partition, r.offset): r for r in records}
    return [by_offset[(e.partition, e.offset)] for e in envelopes]
