"""Delivery rules on real PostgreSQL and Kafka: nothing lost, nothing twice, poison aside."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, ClassVar, Literal

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import Row, text

from shopmesh.kit.consumer import EventConsumer
from shopmesh.kit.db import Database
from shopmesh.kit.events import Event
from shopmesh.kit.migrations import migrate
from shopmesh.kit.outbox import outbox_backlog
from shopmesh.kit.relay import OutboxRelay
from tests.kit.sample import MIGRATIONS, NotesUnitOfWork, NoteWritten, record_note
from tests.support import migrated_database, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@pytest.fixture
async def db(postgres_url: str) -> AsyncIterator[Database]:
    async with migrated_database(postgres_url, MIGRATIONS) as database:
        yield database


async def write_notes(db: Database, *bodies: str) -> list[NoteWritten]:
    events = [NoteWritten(body=body, producer="sample") for body in bodies]
    async with NotesUnitOfWork(db) as uow:
        uow.outbox.add(*events)
    return events


async def notes_applied(db: Database, bodies: list[str]) -> dict[str, int]:
    async with db.engine.begin() as session:
        rows = await session.execute(
            text("SELECT body, count(*) FROM note WHERE body = ANY(:b) GROUP BY body"),
            {"b": bodies},
        )
        return {body: count for body, count in rows}


@asynccontextmanager
async def background(*coroutines: object) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(c) for c in coroutines]  # type: ignore[arg-type]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def consumer_for(
    db: Database, bootstrap: str, group_id: str | None = None, **kwargs: object
) -> EventConsumer:
    return EventConsumer(
        lambda: NotesUnitOfWork(db),
        service="sample",
        bootstrap=bootstrap,
        group_id=group_id or f"sample-{uuid.uuid4().hex[:8]}",
        handlers={"note.written": record_note},
        topics=["notes"],
        max_attempts=2,
        retry_backoff=0.01,
        **kwargs,  # type: ignore[arg-type]
    )


async def copies_in_topic(bootstrap: str, topic: str, needle: bytes, expected: int) -> int:
    """How many messages of ``topic`` contain ``needle`` (reads until ``expected`` are seen)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"probe-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen = 0
    try:
        async with asyncio.timeout(30):
            while seen < expected:
                batch = await consumer.getmany(timeout_ms=500)
                seen += sum(needle in m.value for ms in batch.values() for m in ms)
        # Anything more that is already there would show now too.
        batch = await consumer.getmany(timeout_ms=1000)
        seen += sum(needle in m.value for ms in batch.values() for m in ms)
    finally:
        await consumer.stop()
    return seen


async def test_events_committed_while_the_relay_was_down_are_delivered_once(
    db: Database, kafka_bootstrap: str, unique
) -> None:
    bodies = [unique("n") for _ in range(3)]
    await write_notes(db, *bodies)  # committed; no relay is running ("it died")
    assert await outbox_backlog(db) == 3

    relay = OutboxRelay(db, service="sample", bootstrap=kafka_bootstrap, poll_interval=0.05)
    async with background(relay.run(), consumer_for(db, kafka_bootstrap).run()):
        applied = await wait_for(
            lambda: notes_applied(db, bodies), until=lambda r: len(r) == 3, what="notes applied"
        )
    assert applied == dict.fromkeys(bodies, 1)
    assert await outbox_backlog(db) == 0


async def test_a_busy_relay_marks_each_batch_and_publishes_every_event_once(
    db: Database, kafka_bootstrap: str, unique
) -> None:
    tag = unique("busy")
    relay = OutboxRelay(
        db, service="sample", bootstrap=kafka_bootstrap, poll_interval=0.05, batch_size=4
    )
    async with background(relay.run()):
        for round_ in range(5):  # written while the relay works: batches follow batches
            await write_notes(db, *(f"{tag}-{round_}-{i}" for i in range(7)))
            relay.notify()
        await wait_for(lambda: outbox_backlog(db), until=lambda n: n == 0, what="outbox drained")
    assert relay.published == 35
    assert await copies_in_topic(kafka_bootstrap, "notes", tag.encode(), expected=35) == 35


async def test_the_relay_publishes_and_marks_on_sqlite(
    sqlite_url: str, kafka_bootstrap: str, unique
) -> None:
    db = Database(sqlite_url)
    await migrate(db, MIGRATIONS)
    tag = unique("lite")
    relay = OutboxRelay(
        db, service="sample", bootstrap=kafka_bootstrap, poll_interval=0.05, batch_size=2
    )
    try:
        await write_notes(db, *(f"{tag}-{i}" for i in range(5)))
        async with background(relay.run()):
            await wait_for(
                lambda: outbox_backlog(db), until=lambda n: n == 0, what="outbox drained"
            )
    finally:
        await db.close()
    assert relay.published == 5
    assert await copies_in_topic(kafka_bootstrap, "notes", tag.encode(), expected=5) == 5


class NoteRead(Event):
    """An event type of the notes topic that the sample consumer has no handler for."""

    topic: ClassVar[str] = "notes"
    event_type: Literal["note.read"] = "note.read"
    body: str

    def key(self) -> str:
        return self.body


async def test_events_without_a_handler_are_consumed_without_a_processed_event_row(
    db: Database, kafka_bootstrap: str, unique
) -> None:
    body = unique("n")
    # One key, so one partition: once the later note is applied, the earlier event was read.
    read = NoteRead(body=body, producer="sample")
    async with NotesUnitOfWork(db) as uow:
        uow.outbox.add(read)
    [written] = await write_notes(db, body)

    consumer = consumer_for(db, kafka_bootstrap)
    relay = OutboxRelay(db, service="sample", bootstrap=kafka_bootstrap, poll_interval=0.05)
    async with background(relay.run(), consumer.run()):
        await wait_for(
            lambda: notes_applied(db, [body]), until=lambda r: r == {body: 1}, what="note applied"
        )
    async with db.engine.begin() as session:
        rows = await session.execute(
            text("SELECT event_id FROM processed_event WHERE event_id = ANY(:ids)"),
            {"ids": [str(read.event_id), str(written.event_id)]},
        )
        recorded = {event_id for (event_id,) in rows}
    assert recorded == {str(written.event_id)}


async def lag_of(bootstrap: str, group_id: str, topic: str) -> int:
    """How far ``group_id``'s committed offsets are behind the end of ``topic``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        committed = await admin.list_consumer_group_offsets(group_id)
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    assert partitions, f"{topic} has no partitions"
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await reader.start()
    try:
        ends = await reader.end_offsets(partitions)
    finally:
        await reader.stop()
    return sum(ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in partitions)


async def test_a_quiet_group_commits_what_it_applied_so_a_restart_reads_only_new_events(
    db: Database, kafka_bootstrap: str, unique
) -> None:
    first, later = unique("c"), unique("c")
    await write_notes(db, first)
    group = f"sample-{uuid.uuid4().hex[:8]}"
    relay = OutboxRelay(db, service="sample", bootstrap=kafka_bootstrap, poll_interval=0.05)
    # Never due by time: the offsets are committed because the topic went quiet.
    before = consumer_for(db, kafka_bootstrap, group, commit_interval=3600.0)
    async with background(relay.run(), before.run()):
        await wait_for(lambda: notes_applied(db, [first]), until=bool, what="first note")
        await wait_for(
            lambda: lag_of(kafka_bootstrap, group, "notes"), until=lambda n: n == 0, what="commit"
        )

    after = consumer_for(db, kafka_bootstrap, group, commit_interval=3600.0)
    async with background(relay.run(), after.run()):
        await write_notes(db, later)
        await wait_for(lambda: notes_applied(db, [later]), until=bool, what="later note")
    # The restarted group went on from its commit: nothing was read twice.
    assert (after.applied, after.duplicates) == (1, 0)
    assert await notes_applied(db, [first, later]) == {first: 1, later: 1}


class RelayDyingBeforeMark(OutboxRelay):
    """Publishes, then 'crashes' before marking the rows sent, once."""

    crashed = False

    async def _mark_and_fetch(self, sent: list[int]) -> Sequence[Row[Any]]:
        if sent and not self.crashed:
            self.crashed = True
            raise ConnectionResetError("relay killed after publishing")
        return await super()._mark_and_fetch(sent)


async def test_a_relay_dying_after_publish_resends_and_the_consumer_applies_once(
    db: Database, kafka_bootstrap: str, unique
) -> None:
    body = unique("dup")
    await write_notes(db, body)
    relay = RelayDyingBeforeMark(
        db, service="sample", bootstrap=kafka_bootstrap, poll_interval=0.05, retry_backoff=0.05
    )
    async with background(relay.run()):
        await wait_for(lambda: outbox_backlog(db), until=lambda n: n == 0, what="outbox drained")
    assert relay.crashed
    assert await copies_in_topic(kafka_bootstrap, "notes", body.encode(), expected=2) == 2

    consumer = consumer_for(db, kafka_bootstrap)
    async with background(consumer.run()):
        await wait_for(lambda: notes_applied(db, [body]), until=bool, what="note applied")
        # Both copies read before we judge: the second one must have been skipped.
        await wait_for(
            _async(lambda: consumer.duplicates), until=lambda n: n >= 1, what="second copy skipped"
        )
    assert await notes_applied(db, [body]) == {body: 1}


def _async(read):
    async def probe():
        return read()

    return probe


async def test_poison_and_malformed_messages_go_to_the_dlq_and_consumption_goes_on(
    db: Database, kafka_bootstrap: str, unique
) -> None:
    poison, good = unique("poison"), unique("good")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait("notes", b"{not json " + poison.encode())
    finally:
        await producer.stop()
    await write_notes(db, poison, good)
    relay = OutboxRelay(db, service="sample", bootstrap=kafka_bootstrap, poll_interval=0.05)
    async with background(relay.run(), consumer_for(db, kafka_bootstrap).run()):
        await wait_for(lambda: notes_applied(db, [good]), until=bool, what="good note applied")
        # The two notes may sit on different partitions: the poison one can still be in its
        # retries when the good one is applied, so read the DLQ while the consumer runs.
        dead = await copies_in_topic(kafka_bootstrap, "notes.dlq", poison.encode(), expected=2)
    assert await notes_applied(db, [poison, good]) == {good: 1}
    # Both the unparseable message and the one whose handler kept failing were set aside.
    assert dead == 2
