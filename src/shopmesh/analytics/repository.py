"""Analytics tables and their queries (never commits: the caller's transaction does).

Every change is an atomic increment in SQL (``x = x + :n``), never a read
then a write, so two consumer instances applying events at the same time
cannot lose an update. Writers lock the stats row first, then user rows in
id order, so concurrent ones queue instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    Numeric,
    Table,
    bindparam,
    case,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shopmesh.analytics.domain import EMPTY_STATS, Stats, StatsDelta, UserStats
from shopmesh.kit.consumer import FRESH_EVENTS_CTE, fresh_events_params
from shopmesh.kit.db import insert_for, new_metadata, rowcount
from shopmesh.kit.events import EventEnvelope

STATS_ROW_ID = 1
# Sums of many amounts: more integer digits than one amount's NUMERIC(12, 2).
Total = Numeric(18, 2)


class Base(DeclarativeBase):
    metadata = new_metadata()


class StatsRow(Base):
    """The platform-wide totals: one row, id 1."""

    __tablename__ = "stats"
    __table_args__ = (CheckConstraint(f"id = {STATS_ROW_ID}", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    total_transactions: Mapped[int] = mapped_column(BigInteger, nullable=False)
    total_amount: Mapped[Decimal] = mapped_column(Total, nullable=False)
    total_paid_transactions: Mapped[int] = mapped_column(BigInteger, nullable=False)
    events_processed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    unique_users: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_event_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UserStatsRow(Base):
    """One user's totals."""

    __tablename__ = "user_stats"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    transactions: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Total, nullable=False)
    paid_transactions: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_event_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


stats = cast(Table, StatsRow.__table__)
user_stats = cast(Table, UserStatsRow.__table__)
# Serves the admin listing's order (largest amount first, ties by user id).
Index("ix_user_stats_amount_desc", user_stats.c.amount.desc(), user_stats.c.user_id)

EMPTY_STATS_ROW: dict[str, Any] = {
    "id": STATS_ROW_ID,
    "total_transactions": 0,
    "total_amount": Decimal("0.00"),
    "total_paid_transactions": 0,
    "events_processed": 0,
    "unique_users": 0,
    "last_event_time": None,
}


async def add_to_stats(session: AsyncSession, delta: StatsDelta) -> None:
    """Add one event's ``delta`` to the totals and to its user's row."""
    # The stats row first: every writer takes that lock before any user row's, so
    # concurrent transactions queue on it instead of deadlocking on user rows.
    await _add_to_totals(session, delta)
    if await _insert_if_missing(session, user_stats, row=_empty_user_row(delta.user_id)):
        await session.execute(update(stats).values(unique_users=stats.c.unique_users + 1))
    await session.execute(
        update(user_stats)
        .where(user_stats.c.user_id == delta.user_id)
        .values(
            transactions=user_stats.c.transactions + delta.transactions,
            amount=_money_sum(user_stats.c.amount, delta.amount),
            paid_transactions=user_stats.c.paid_transactions + delta.paid_transactions,
            last_event_time=_latest(user_stats.c.last_event_time, delta.event_time),
        )
    )


async def add_all_to_stats(session: AsyncSession, deltas: Sequence[StatsDelta]) -> None:
    """Add many events' ``deltas`` at once: a few statements however many events.

    The same increments as :func:`add_to_stats` for each delta, folded per
    user first; the stats row is locked first, then the user rows in id order,
    so concurrent writers queue instead of deadlocking.
    """
    if not deltas:
        return
    per_user: dict[int, StatsDelta] = {}
    for delta in deltas:
        per_user[delta.user_id] = fold(per_user.get(delta.user_id), delta)
    total = None
    for delta in per_user.values():
        total = fold(total, delta)
    assert total is not None
    await _add_to_totals(session, total, events=len(deltas))
    users = sorted(per_user)
    if new_users := await _insert_missing_users(session, users):
        await session.execute(update(stats).values(unique_users=stats.c.unique_users + new_users))
    event_time = bindparam("event_time", type_=DateTime(timezone=True))
    await session.execute(
        update(user_stats)
        .where(user_stats.c.user_id == bindparam("uid"))
        .values(
            transactions=user_stats.c.transactions + bindparam("transactions"),
            amount=_money_sum(user_stats.c.amount, bindparam("amount", type_=Total)),
            paid_transactions=user_stats.c.paid_transactions + bindparam("paid"),
            last_event_time=case(
                (user_stats.c.last_event_time.is_(None), event_time),
                (user_stats.c.last_event_time < event_time, event_time),
                else_=user_stats.c.last_event_time,
            ),
        ),
        [
            {
                "uid": user,
                "transactions": per_user[user].transactions,
                "amount": per_user[user].amount,
                "paid": per_user[user].paid_transactions,
                "event_time": per_user[user].event_time.astimezone(UTC),
            }
            for user in users
        ],
    )


# PostgreSQL: the events of a batch that the consumer has not applied yet (FRESH_EVENTS_CTE
# records their ids) folded into the totals, all in one statement. The same increments as
# add_all_to_stats; the stats row is locked first (lock is joined before any user row is
# written), then the user rows in id order. A user row this statement inserted is the
# only kind whose xmax is 0 (an updated one carries this transaction's id): the new users.
_APPLY_NEW_EVENTS = text(
    # Only constants (the kit's CTE, the stats row id) are spliced into the text.
    f"""
WITH {FRESH_EVENTS_CTE},
lock AS MATERIALIZED (SELECT id FROM stats WHERE id = {STATS_ROW_ID} FOR UPDATE),
batch AS (
    SELECT b.*
    FROM unnest(
        CAST(:event_ids AS text[]), CAST(:user_ids AS bigint[]),
        CAST(:transactions AS bigint[]), CAST(:amounts AS numeric[]),
        CAST(:paid AS bigint[]), CAST(:event_times AS timestamptz[])
    ) AS b(event_id, user_id, transactions, amount, paid, event_time)
    JOIN fresh USING (event_id)
    LEFT JOIN lock ON true
),
per_user AS (
    SELECT user_id, sum(transactions) AS transactions, sum(amount) AS amount,
        sum(paid) AS paid, max(event_time) AS event_time
    FROM batch GROUP BY user_id
),
users AS (
    INSERT INTO user_stats AS u
        (user_id, transactions, amount, paid_transactions, last_event_time)
    SELECT user_id, transactions, amount, paid, event_time FROM per_user ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET
        transactions = u.transactions + excluded.transactions,
        amount = u.amount + excluded.amount,
        paid_transactions = u.paid_transactions + excluded.paid_transactions,
        last_event_time = greatest(u.last_event_time, excluded.last_event_time)
    RETURNING u.xmax = 0 AS inserted
),
totals AS (
    INSERT INTO stats AS s (id, total_transactions, total_amount, total_paid_transactions,
        events_processed, unique_users, last_event_time)
    SELECT {STATS_ROW_ID}, sum(transactions), sum(amount), sum(paid), count(*),
        (SELECT count(*) FROM users WHERE inserted), max(event_time)
    FROM batch
    HAVING count(*) > 0
    ON CONFLICT (id) DO UPDATE SET
        total_transactions = s.total_transactions + excluded.total_transactions,
        total_amount = s.total_amount + excluded.total_amount,
        total_paid_transactions = s.total_paid_transactions + excluded.total_paid_transactions,
        events_processed = s.events_processed + excluded.events_processed,
        unique_users = s.unique_users + excluded.unique_users,
        last_event_time = greatest(s.last_event_time, excluded.last_event_time)
)
SELECT event_id FROM fresh
"""  # noqa: S608
)


async def apply_new_events(
    connection: AsyncConnection,
    consumer: str,
    envelopes: Sequence[EventEnvelope],
    deltas: Sequence[StatsDelta],
) -> list[str]:
    """PostgreSQL only: fold ``deltas`` (one per envelope, distinct event ids) of the
    events ``consumer`` has not applied yet into the totals and record the events as
    applied, in one statement (atomic on its own). The ids it applied."""
    params = {
        **fresh_events_params(consumer, envelopes),
        "user_ids": [d.user_id for d in deltas],
        "transactions": [d.transactions for d in deltas],
        "amounts": [d.amount for d in deltas],
        "paid": [d.paid_transactions for d in deltas],
        "event_times": [d.event_time.astimezone(UTC) for d in deltas],
    }
    return list((await connection.execute(_APPLY_NEW_EVENTS, params)).scalars())


def fold(into: StatsDelta | None, delta: StatsDelta) -> StatsDelta:
    """Two deltas as one (the user id of ``delta``; the later event time)."""
    if into is None:
        return delta
    return StatsDelta(
        user_id=delta.user_id,
        event_time=max(into.event_time, delta.event_time),
        transactions=into.transactions + delta.transactions,
        amount=into.amount + delta.amount,
        paid_transactions=into.paid_transactions + delta.paid_transactions,
    )


async def _insert_missing_users(session: AsyncSession, users: list[int]) -> int:
    """Insert an empty row for each user that has none (atomically); how many were new."""
    statement = (
        insert_for(session, user_stats)
        .values([_empty_user_row(user) for user in users])
        .on_conflict_do_nothing()
        .returning(user_stats.c.user_id)
    )
    return len((await session.execute(statement)).all())


async def _add_to_totals(session: AsyncSession, delta: StatsDelta, *, events: int = 1) -> None:
    statement = (
        update(stats)
        .where(stats.c.id == STATS_ROW_ID)
        .values(
            total_transactions=stats.c.total_transactions + delta.transactions,
            total_amount=_money_sum(stats.c.total_amount, delta.amount),
            total_paid_transactions=stats.c.total_paid_transactions + delta.paid_transactions,
            events_processed=stats.c.events_processed + events,
            last_event_time=_latest(stats.c.last_event_time, delta.event_time),
        )
    )
    if rowcount(await session.execute(statement)) == 0:
        # The migration seeds the row; recreate it if someone removed it.
        await _insert_if_missing(session, stats, row=EMPTY_STATS_ROW)
        await session.execute(statement)


async def load_stats(session: AsyncSession) -> Stats:
    """The totals (all zeros before the first event)."""
    row = (await session.execute(select(stats))).one_or_none()
    if row is None:
        return EMPTY_STATS
    return Stats(
        total_transactions=row.total_transactions,
        total_amount=row.total_amount,
        total_paid_transactions=row.total_paid_transactions,
        events_processed=row.events_processed,
        unique_users=row.unique_users,
        last_event_time=_utc(row.last_event_time),
    )


async def list_user_stats(session: AsyncSession, *, limit: int, offset: int) -> list[UserStats]:
    """Users by amount, largest first (ties by user id)."""
    query = (
        select(user_stats)
        .order_by(user_stats.c.amount.desc(), user_stats.c.user_id)
        .limit(limit)
        .offset(offset)
    )
    return [
        UserStats(
            user_id=row.user_id,
            transactions=row.transactions,
            amount=row.amount,
            paid_transactions=row.paid_transactions,
            last_event_time=_utc(row.last_event_time),
        )
        for row in (await session.execute(query)).all()
    ]


def _empty_user_row(user_id: int) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "transactions": 0,
        "amount": Decimal("0.00"),
        "paid_transactions": 0,
        "last_event_time": None,
    }


async def _insert_if_missing(session: AsyncSession, table: Table, *, row: dict[str, Any]) -> bool:
    """Insert ``row`` unless its key exists (atomically); True when it was inserted."""
    statement = insert_for(session, table).values(**row).on_conflict_do_nothing()
    return rowcount(await session.execute(statement)) == 1


def _money_sum(
    column: ColumnElement[Decimal], amount: Decimal | ColumnElement[Decimal]
) -> ColumnElement[Decimal]:
    # SQLite keeps NUMERIC as a binary float: rounding after each addition keeps the stored
    # value the closest one to the exact sum (0.1 + 0.2 stays 0.3). A no-op on PostgreSQL.
    return func.round(column + amount, 2)


def _latest(column: ColumnElement[datetime], moment: datetime) -> ColumnElement[datetime]:
    # Events of different partitions arrive in any order: keep the latest time seen.
    value = literal(moment.astimezone(UTC), DateTime(timezone=True))
    return case((column.is_(None), value), (column < value, value), else_=column)


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without an offset; they were stored in UTC.
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
