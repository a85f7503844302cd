"""The unit of work: a use case's change and its events commit together, or neither does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from sqlalchemy import text

from shopmesh.kit.db import Database
from shopmesh.kit.logging import traceparent_var
from tests.kit.sample import MIGRATIONS, NotesUnitOfWork, NoteWritten
from tests.support import migrated_database

TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class CountingRelay:
    """Stands in for the outbox relay: counts the wake-ups it gets."""

    def __init__(self) -> None:
        self.wakeups = 0

    def notify(self) -> None:
        self.wakeups += 1


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(database_url, MIGRATIONS) as database:
        yield database


@pytest.fixture
def relay() -> CountingRelay:
    return CountingRelay()


async def rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    async with db.engine.connect() as connection:
        return [tuple(row) for row in (await connection.execute(text(sql))).all()]


async def test_the_change_and_its_events_commit_together_then_the_relay_wakes(
    db: Database, relay: CountingRelay
) -> None:
    async with NotesUnitOfWork(db, relay=relay) as uow:
        await uow.notes.add("e1", "hello")
        uow.outbox.add(NoteWritten(body="hello", producer="sample"))
        assert relay.wakeups == 0  # nothing is told before the commit
    assert await rows(db, "SELECT body FROM note") == [("hello",)]
    [(topic, key, event_type, payload)] = await rows(
        db, "SELECT topic, key, event_type, payload FROM outbox_message"
    )
    assert (topic, key, event_type) == ("notes", "hello", "note.written")
    assert orjson.loads(payload)["body"] == "hello"
    assert relay.wakeups == 1


async def test_a_unit_without_events_commits_and_wakes_nobody(
    db: Database, relay: CountingRelay
) -> None:
    async with NotesUnitOfWork(db, relay=relay) as uow:
        await uow.notes.add("e2", "quiet")
    assert await rows(db, "SELECT body FROM note") == [("quiet",)]
    assert await rows(db, "SELECT count(*) FROM outbox_message") == [(0,)]
    assert relay.wakeups == 0


async def test_a_failing_use_case_leaves_neither_its_change_nor_its_events(
    db: Database, relay: CountingRelay
) -> None:
    committed: list[str] = []

    async def failing_use_case() -> None:
        async with NotesUnitOfWork(db, relay=relay) as uow:
            uow.after_commit(lambda: committed.append("ran"))
            await uow.notes.add("e3", "doomed")
            uow.outbox.add(NoteWritten(body="doomed", producer="sample"))
            raise RuntimeError("fails after its change and its event")

    with pytest.raises(RuntimeError, match="fails after"):
        await failing_use_case()
    assert await rows(db, "SELECT count(*) FROM note") == [(0,)]
    assert await rows(db, "SELECT count(*) FROM outbox_message") == [(0,)]
    assert relay.wakeups == 0
    assert committed == []


async def test_after_commit_callbacks_run_after_the_commit_not_before(db: Database) -> None:
    ran: list[str] = []
    async with NotesUnitOfWork(db) as uow:
        await uow.notes.add("e4", "visible")
        uow.after_commit(lambda: ran.append("first"))
        uow.after_commit(lambda: ran.append("second"))
        assert ran == []
    assert ran == ["first", "second"]
    assert await rows(db, "SELECT body FROM note") == [("visible",)]


async def test_each_event_keeps_the_trace_context_it_was_added_in(db: Database) -> None:
    async with NotesUnitOfWork(db) as uow:
        token = traceparent_var.set(TRACE)
        try:
            uow.outbox.add(NoteWritten(body="traced", producer="sample"))
        finally:
            traceparent_var.reset(token)
        uow.outbox.add(NoteWritten(body="untraced", producer="sample"))
    assert await rows(db, "SELECT key, traceparent FROM outbox_message ORDER BY id") == [
        ("traced", TRACE),
        ("untraced", None),
    ]


async def test_a_unit_of_work_is_used_once(db: Database) -> None:
    uow = NotesUnitOfWork(db)
    async with uow:
        pass
    with pytest.raises(RuntimeError, match="used once"):
        async with uow:
            pass
    with pytest.raises(RuntimeError, match="not open"):
        _ = uow.connection
