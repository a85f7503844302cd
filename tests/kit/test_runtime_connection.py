"""A use case on a Core connection: its events commit with it, and the relay wakes after commit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from shopmesh.kit.app import ServiceRuntime
from shopmesh.kit.client import ServiceClient, StaticResolver
from shopmesh.kit.db import Database
from shopmesh.kit.jwt import TokenVerifier
from shopmesh.kit.outbox import OutboxRelay, add_events
from shopmesh.kit.settings import ServiceSettings
from shopmesh.kit.tables import kit_metadata, outbox_message
from tests.kit.sample import SECRET, NoteWritten


class CountingRelay(OutboxRelay):
    """A relay that is never started; it only counts the wake-ups it gets."""

    wakeups = 0

    def notify(self) -> None:
        self.wakeups += 1


@pytest.fixture
async def runtime(sqlite_url: str) -> AsyncIterator[ServiceRuntime]:
    settings = ServiceSettings(database_url=sqlite_url, jwt_secret=SECRET, kafka_enabled=False)
    db = Database(sqlite_url)
    async with db.engine.begin() as connection:
        await connection.run_sync(kit_metadata.create_all)
    runtime = ServiceRuntime(
        settings=settings,
        database=db,
        verifier=TokenVerifier(secret=SECRET, issuer=settings.jwt_issuer),
        client=ServiceClient(settings, StaticResolver({})),
        relay=CountingRelay(db, service="sample", bootstrap="127.0.0.1:1"),
    )
    yield runtime
    await runtime.close()


async def _outbox_rows(runtime: ServiceRuntime) -> int:
    async with runtime.db.engine.connect() as connection:
        return int(
            (
                await connection.execute(select(func.count()).select_from(outbox_message))
            ).scalar_one()
        )


async def test_events_written_on_a_connection_commit_and_wake_the_relay(
    runtime: ServiceRuntime,
) -> None:
    relay = runtime.relay
    assert isinstance(relay, CountingRelay)
    async with runtime.connection() as connection:
        await add_events(connection, NoteWritten(body="a", producer="sample"))
    assert await _outbox_rows(runtime) == 1
    assert relay.wakeups == 1
    async with runtime.connection():
        pass  # wrote no events: nothing to wake the relay for
    assert relay.wakeups == 1


async def test_a_failed_use_case_writes_no_event_and_leaves_no_wake_up_behind(
    runtime: ServiceRuntime,
) -> None:
    relay = runtime.relay
    assert isinstance(relay, CountingRelay)

    async def failing_use_case() -> None:
        async with runtime.connection() as connection:
            await add_events(connection, NoteWritten(body="b", producer="sample"))
            raise RuntimeError("the use case fails after writing its event")

    with pytest.raises(RuntimeError):
        await failing_use_case()
    assert await _outbox_rows(runtime) == 0
    assert relay.wakeups == 0
    async with runtime.connection():
        pass  # the same pooled connection again: the failed use case's mark is gone
    assert relay.wakeups == 0


async def test_autocommit_on_sqlite_is_still_one_transaction(runtime: ServiceRuntime) -> None:
    async def failing_use_case() -> None:
        async with runtime.connection(autocommit=True) as connection:
            await add_events(connection, NoteWritten(body="c", producer="sample"))
            raise RuntimeError("fails after its first statement")

    with pytest.raises(RuntimeError):
        await failing_use_case()
    assert await _outbox_rows(runtime) == 0
