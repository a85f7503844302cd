"""Use cases: fold an event into the totals, read the totals."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shopmesh.analytics import repository
from shopmesh.analytics.domain import (
    Stats,
    TransactionCreated,
    TransactionEvent,
    TransactionPaid,
    UserStats,
)
from shopmesh.kit.db import Database
from shopmesh.kit.events import EventEnvelope


async def record_transaction_created(session: AsyncSession, event: TransactionCreated) -> None:
    """Count the transaction and its amount (in the caller's transaction)."""
    await repository.add_to_stats(session, event.delta())


async def record_transactions(session: AsyncSession, events: Sequence[TransactionEvent]) -> None:
    """Fold many events into the totals at once (in the caller's transaction)."""
    await repository.add_all_to_stats(session, [event.delta() for event in events])


async def record_new_transactions(
    connection: AsyncConnection,
    consumer: str,
    envelopes: Sequence[EventEnvelope],
    events: Sequence[TransactionEvent],
) -> list[str]:
    """PostgreSQL: fold the ``events`` (those of ``envelopes``) that ``consumer`` has not
    applied yet into the totals and record them as applied, in one statement; their ids."""
    deltas = [event.delta() for event in events]
    return await repository.apply_new_events(connection, consumer, envelopes, deltas)


async def record_transaction_paid(session: AsyncSession, event: TransactionPaid) -> None:
    """Count the user's newly paid transactions (in the caller's transaction)."""
    await repository.add_to_stats(session, event.delta())


async def read_stats(db: Database) -> Stats:
    """The platform-wide totals."""
    async with db.transaction() as session:
        return await repository.load_stats(session)


async def list_users(db: Database, *, limit: int, offset: int) -> list[UserStats]:
    """Per-user totals, largest amount first."""
    async with db.transaction() as session:
        return await repository.list_user_stats(session, limit=limit, offset=offset)
