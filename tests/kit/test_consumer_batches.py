"""A consumer applies each event of a batch once, on SQLite and PostgreSQL, without Kafka:
the batch's ids are recorded first and only the ones not seen before are applied."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from shopmesh.kit.consumer import EventConsumer
from shopmesh.kit.db import Database
from shopmesh.kit.events import EventEnvelope
from tests.kit.sample import MIGRATIONS, NotesUnitOfWork, NoteWritten, record_note
from tests.support import RoundTrips, migrated_database, round_trips, wait_for


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(database_url, MIGRATIONS) as database:
        yield database


def consumer_of(db: Database, handler=record_note, record_only=None) -> EventConsumer:  # type: ignore[no-untyped-def]
    return EventConsumer(
        lambda: NotesUnitOfWork(db),
        service="sample",
        bootstrap="127.0.0.1:1",  # never contacted: batches are handed over directly
        group_id="sample-notes",
        handlers={"note.written": handler},
        topics=["notes"],
        record_only=record_only,
    )


def envelope_of(body: str, offset: int) -> EventEnvelope:
    event = NoteWritten(body=body, producer="sample")
    return EventEnvelope.parse(event.to_bytes(), topic="notes", partition=0, offset=offset)


async def notes(db: Database) -> list[str]:
    async with db.engine.begin() as session:
        return list((await session.execute(text("SELECT body FROM note ORDER BY body"))).scalars())


async def processed_ids(db: Database) -> set[str]:
    async with db.engine.begin() as session:
        rows = await session.execute(text("SELECT event_id FROM processed_event"))
        return set(rows.scalars())


async def lock_waits(db: Database) -> int:
    async with db.connection(autocommit=True) as connection:
        waiting = await connection.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
        return int(waiting.scalar_one())


async def test_a_batch_applies_each_new_event_once_and_skips_the_ones_seen_before(
    db: Database,
) -> None:
    consumer = consumer_of(db)
    first, second, third = (envelope_of(body, n) for n, body in enumerate(["a", "b", "c"]))
    await consumer.apply_batch([first])

    # "a" was applied before, "b" comes twice in the batch (a resend), "c" is new.
    await consumer.apply_batch([first, second, second, third])

    assert await notes(db) == ["a", "b", "c"]
    assert await processed_ids(db) == {e.event_id for e in (first, second, third)}
    assert (consumer.applied, consumer.duplicates) == (3, 2)


async def test_a_batch_that_needs_nothing_done_is_recorded_alone_and_applied_once(
    db: Database,
) -> None:
    consumer = consumer_of(db, record_only=lambda e: e.payload["body"].startswith("aside"))
    aside, kept = envelope_of("aside", 0), envelope_of("kept", 1)

    on_postgresql = db.engine.dialect.name == "postgresql"
    with round_trips(db.engine) as sent:
        assert await consumer.apply_batch([aside]) == 1
    assert await notes(db) == []  # its handler did not run
    assert await processed_ids(db) == {aside.event_id}
    if on_postgresql:  # one statement, which commits by itself: no BEGIN, no COMMIT
        assert (len(sent.statements), transaction_control(sent)) == (1, [])

    # Beside an event that needs its handler, the batch is one transaction as always, and
    # the event recorded before is a duplicate.
    with round_trips(db.engine) as sent:
        assert await consumer.apply_batch([aside, kept]) == 1
    assert await notes(db) == ["kept"]
    assert await processed_ids(db) == {aside.event_id, kept.event_id}
    assert (consumer.applied, consumer.duplicates) == (2, 1)
    if on_postgresql:
        assert transaction_control(sent) == ["BEGIN", "COMMIT"]


def transaction_control(sent: RoundTrips) -> list[str]:
    """The BEGINs and COMMITs among what was sent (the driver's type lookups aside)."""
    words = [query.split()[0].rstrip(";") for query in sent.simple if query.strip()]
    return [word for word in words if word in ("BEGIN", "COMMIT")]


async def test_a_failing_batch_leaves_neither_effects_nor_processed_ids(db: Database) -> None:
    consumer = consumer_of(db)
    good, poison = envelope_of("fine", 0), envelope_of("poison pill", 1)

    with pytest.raises(ValueError, match="poisoned"):
        await consumer.apply_batch([good, poison])

    assert await notes(db) == []
    assert await processed_ids(db) == set()
    await consumer.apply_batch([good])  # the good one applies on its own afterwards
    assert await notes(db) == ["fine"]


@pytest.mark.postgres
async def test_two_copies_of_a_batch_at_once_apply_it_once(postgres_url: str) -> None:
    """Two instances handed the same batch (a rebalance): the second waits for the first's
    processed-event rows, then finds them taken, instead of failing on the unique key."""
    async with migrated_database(postgres_url, MIGRATIONS) as db:
        first_inside = asyncio.Event()
        release = asyncio.Event()

        async def slow_record(uow: NotesUnitOfWork, envelope: EventEnvelope) -> None:
            first_inside.set()
            await release.wait()
            await record_note(uow, envelope)

        batch = [envelope_of("x", 0), envelope_of("y", 1)]
        consumers = [consumer_of(db, slow_record), consumer_of(db, slow_record)]
        one = asyncio.create_task(consumers[0].apply_batch(batch))
        await first_inside.wait()
        two = asyncio.create_task(consumers[1].apply_batch(batch))
        await wait_for(lambda: lock_waits(db), until=lambda n: n == 1, what="second one waiting")
        release.set()
        await asyncio.gather(one, two)
        assert await notes(db) == ["x", "y"]
        assert sorted(c.duplicates for c in consumers) == [0, 2]
