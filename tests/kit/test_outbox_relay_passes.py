"""The relay's round trips on real PostgreSQL and Kafka: one statement a pass, the rows sent
marked by the next pass (or at stop), never a row lost or published twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event

from shopmesh.kit.db import Database
from shopmesh.kit.outbox import outbox_backlog
from shopmesh.kit.relay import OutboxRelay
from tests.kit.sample import MIGRATIONS
from tests.kit.test_outbox_and_consumer import background, copies_in_topic, write_notes
from tests.support import migrated_database, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@pytest.fixture
async def db(postgres_url: str) -> AsyncIterator[Database]:
    async with migrated_database(postgres_url, MIGRATIONS) as database:
        yield database


def count_relay_passes(db: Database) -> list[str]:
    """The relay's reads of unsent rows on ``db``, as each has been answered (a list that
    grows). After, not before: a row committed once a pass is counted cannot be in its read,
    so it is the next pass's to publish."""
    passes: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "outbox_message.published_at IS NULL" in statement and "count(" not in statement:
            passes.append(statement)

    event.listen(db.engine.sync_engine, "after_cursor_execute", seen)
    return passes


async def _published(relay: OutboxRelay, count: int) -> None:
    async def probe() -> int:
        return relay.published

    await wait_for(probe, until=lambda n: n >= count, what=f"{count} events published")


async def test_each_wake_of_the_relay_is_one_statement_marking_the_rows_sent_before(
    db: Database, kafka_bootstrap: str, unique
) -> None:
    tag = unique("pass")
    passes = count_relay_passes(db)
    # No poll during the test: every pass is a notify's.
    relay = OutboxRelay(db, service="sample", bootstrap=kafka_bootstrap, poll_interval=60)
    async with background(relay.run()):
        await wait_for(lambda: _first(passes), until=bool, what="the relay's first pass")
        for round_ in range(1, 4):
            await write_notes(db, f"{tag}-{round_}")
            relay.notify()
            await _published(relay, round_)
            # The batch of the round before was marked by this round's pass.
            assert await outbox_backlog(db) == 1
        assert len(passes) == 4  # the first pass, then one a wake (it was two before)
        relay.notify()  # a wake with nothing new: marks the last batch
        await wait_for(lambda: outbox_backlog(db), until=lambda n: n == 0, what="all marked")
    assert relay.published == 3
    assert await copies_in_topic(kafka_bootstrap, "notes", tag.encode(), expected=3) == 3


async def test_a_stopping_relay_marks_what_it_sent_last_so_a_restart_does_not_resend_it(
    db: Database, kafka_bootstrap: str, unique
) -> None:
    first, second = unique("stop"), unique("stop")
    await write_notes(db, first)
    relay = OutboxRelay(db, service="sample", bootstrap=kafka_bootstrap, poll_interval=60)
    async with background(relay.run()):
        await _published(relay, 1)
    assert await outbox_backlog(db) == 0

    await write_notes(db, second)
    again = OutboxRelay(db, service="sample", bootstrap=kafka_bootstrap, poll_interval=60)
    async with background(again.run()):
        await _published(again, 1)
    assert again.published == 1  # the second note only
    assert await copies_in_topic(kafka_bootstrap, "notes", first.encode(), expected=1) == 1


async def _first(passes: list[str]) -> bool:
    return bool(passes)
