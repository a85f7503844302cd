"""The outbox relay: one background task per service publishes the outbox's unsent rows
in id order with an idempotent producer and marks them sent (see :mod:`shopmesh.kit.outbox`).

A crash between publish and mark re-sends the batch; consumers drop the duplicates by
``event_id``, so nothing is lost and nothing is applied twice.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import BigInteger, Row, all_, any_, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.kit.aio import Alarm, describe, retrying
from shopmesh.kit.clock import utcnow
from shopmesh.kit.db import Database
from shopmesh.kit.kafka import KafkaNamespace, ensure_topics, idempotent_producer
from shopmesh.kit.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISH_LATENCY, OUTBOX_PUBLISHED
from shopmesh.kit.outbox import outbox_backlog
from shopmesh.kit.tables import outbox_message

log = logging.getLogger(__name__)
# Seconds a stopping relay waits to mark the rows it sent last.
STOP_MARK_TIMEOUT = 2.0


class _RelayStatements:
    """The relay's statements, built once: unsent rows, marking rows sent, and both at once."""

    def __init__(self, batch_size: int) -> None:
        table = outbox_message
        self.unsent = (
            select(table)
            .where(table.c.published_at.is_(None))
            .order_by(table.c.id)
            .limit(batch_size)
        )
        self.mark = (
            update(table)
            .where(table.c.id.in_(bindparam("ids", expanding=True)))
            .values(published_at=bindparam("now"))
        )
        ids = bindparam("ids", type_=ARRAY(BigInteger))
        marked = (
            update(table)
            .where(table.c.id == any_(ids))
            .values(published_at=bindparam("now"))
            .returning(table.c.id)
            .cte("marked")
        )
        self.mark_and_fetch = self.unsent.where(table.c.id != all_(ids)).add_cte(marked)


class OutboxRelay:
    """Publishes the outbox to Kafka; run :meth:`run` as a background task.

    Call :meth:`notify` after a commit that wrote events to publish at once
    instead of at the next poll. With several instances on PostgreSQL, an
    advisory lock makes one of them the publisher, which keeps each key's
    events in commit order.
    """

    def __init__(
        self,
        db: Database,
        *,
        service: str,
        bootstrap: str,
        batch_size: int = 500,
        poll_interval: float = 0.5,
        retry_backoff: float = 1.0,
        topics: Sequence[str] = (),
        replication: int = 1,
        namespace: KafkaNamespace = KafkaNamespace(),
    ) -> None:
        self._db = db
        self._service = service
        self._bootstrap = bootstrap
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._retry_backoff = retry_backoff
        self._topics = tuple(topics)
        self._replication = replication
        self._namespace = namespace
        self._alarm = Alarm(poll_interval)
        self._statements = _RelayStatements(batch_size)
        self._lock_id = 0x5E0B0000 + zlib.crc32(service.encode()) % 0xFFFF
        self._acked_at = utcnow()  # when Kafka acked the rows sent last
        self.published = 0

    def notify(self) -> None:
        """Wake the relay: something was just committed to the outbox."""
        self._alarm.ring()

    async def run(self) -> None:
        """Publish forever; survives Kafka and database outages by retrying."""
        await retrying(
            self._publish,
            what="outbox relay",
            pause=self._retry_backoff,
            log=log,
            on_error=self._count_backlog,  # while Kafka is away the backlog grows: show it
        )

    async def _publish(self) -> None:
        async with self._producer() as producer, self._leadership():
            sent: list[int] = []
            try:
                while True:
                    rows = await self._mark_and_fetch(sent)
                    sent = await self._send(producer, rows)
                    if len(rows) < self._batch_size:
                        # Nothing more was waiting: rest until notified. The rows just sent
                        # are marked by the next pass's statement, which also reads what
                        # woke it (one round trip a pass, not a second one to mark them).
                        await self._idle()
            except asyncio.CancelledError:  # stopping (an error is left as a crash would)
                if sent:
                    await self._mark_before_stop(sent)
                raise

    async def _send(self, producer: AIOKafkaProducer, rows: Sequence[Row[Any]]) -> list[int]:
        """Publish ``rows`` and wait for Kafka's acks; their ids (still to be marked sent)."""
        if not rows:
            OUTBOX_BACKLOG.labels(self._service).set(0)
            return []
        pending = []
        for row in rows:
            headers = [("event_type", row.event_type.encode())]
            if row.traceparent:
                headers.append(("traceparent", row.traceparent.encode()))
            pending.append(
                await producer.send(
                    self._namespace.topic(row.topic),
                    value=row.payload,
                    key=row.key.encode(),
                    headers=headers,
                )
            )
        await asyncio.gather(*pending)
        self._acked_at = utcnow()
        self._observe(rows)
        if len(rows) == self._batch_size:
            await self._count_backlog()  # a full batch: more may wait behind it
        return [row.id for row in rows]

    async def _mark_and_fetch(self, sent: list[int]) -> Sequence[Row[Any]]:
        """Mark the ``sent`` rows published (as of Kafka's acks), then read the next batch of
        unsent rows.

        On PostgreSQL one statement does both (its read leaves the rows it marks out:
        it sees the table as it was before the statement), so each pass of the relay
        spends one round trip; on SQLite two statements. No transaction around them:
        BEGIN and COMMIT would be two more round trips, and a mark that is lost only
        means the rows are sent again (consumers drop the copies).
        """
        async with self._db.connection(autocommit=True) as connection:
            if not sent:
                return (await connection.execute(self._statements.unsent)).all()
            marked = {"ids": sent, "now": self._acked_at}
            if self._db.is_sqlite:
                await connection.execute(self._statements.mark, marked)
                return (await connection.execute(self._statements.unsent)).all()
            return (await connection.execute(self._statements.mark_and_fetch, marked)).all()

    async def _mark_before_stop(self, sent: list[int]) -> None:
        """Stopping: mark the rows sent last, if the database answers soon (else they are
        sent again at the next start, and consumers drop the copies)."""
        try:
            async with (
                asyncio.timeout(STOP_MARK_TIMEOUT),
                self._db.connection(autocommit=True) as connection,
            ):
                await connection.execute(
                    self._statements.mark, {"ids": sent, "now": self._acked_at}
                )
        except Exception as exc:
            log.info("outbox relay: last batch not marked at stop: %s", describe(exc))

    def _observe(self, rows: Sequence[Row[Any]]) -> None:
        now = utcnow()
        latency = OUTBOX_PUBLISH_LATENCY.labels(self._service)
        for topic, count in Counter(row.topic for row in rows).items():
            OUTBOX_PUBLISHED.labels(self._service, topic).inc(count)
        for row in rows:
            created = (
                row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
            )
            latency.observe((now - created).total_seconds())
        self.published += len(rows)
        if len(rows) < self._batch_size:
            OUTBOX_BACKLOG.labels(self._service).set(0)

    async def _count_backlog(self) -> None:
        """Set the backlog gauge from a count (an index covers unpublished rows)."""
        try:
            async with asyncio.timeout(2.0):
                backlog = await outbox_backlog(self._db)
        except Exception as exc:  # the database may be away too; the gauge just keeps its value
            log.debug("outbox backlog not counted: %s", describe(exc))
            return
        OUTBOX_BACKLOG.labels(self._service).set(backlog)

    async def _idle(self) -> None:
        await self._alarm.sleep(None)  # until notified, or poll_interval

    @asynccontextmanager
    async def _producer(self) -> AsyncIterator[AIOKafkaProducer]:
        if self._topics:
            topics = [self._namespace.topic(t) for t in self._topics]
            await ensure_topics(self._bootstrap, topics, replication=self._replication)
        producer = idempotent_producer(self._bootstrap, client_id=f"{self._service}-outbox")
        try:
            # Started inside the try: a task cancelled while starting still closes it.
            await producer.start()
            yield producer
        finally:
            await producer.stop()

    @asynccontextmanager
    async def _leadership(self) -> AsyncIterator[None]:
        if self._db.is_sqlite:
            yield  # one process per SQLite file
            return
        # The lock is the session's: this connection holds it (and a pool slot) meanwhile.
        async with self._db.connection(autocommit=True) as connection:
            await self._wait_for_lock(connection)
            try:
                yield
            finally:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:k)"), {"k": self._lock_id}
                )

    async def _wait_for_lock(self, connection: AsyncConnection) -> None:
        query = text("SELECT pg_try_advisory_lock(:k)")
        while True:
            if (await connection.execute(query, {"k": self._lock_id})).scalar_one():
                return
            await asyncio.sleep(self._poll_interval * 4)  # another instance publishes
