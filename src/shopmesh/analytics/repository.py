"""Analytics tables and their queries, and the analytics unit of work. Nothing here commits.

Every change is an atomic increment in SQL (``x = x + :n``), never a read
then a write, so two consumer instances applying events at the same time
cannot lose an update. Writers lock the stats row first, then user rows in
id order, so concurrent ones queue instead of deadlocking. On PostgreSQL a
batch is one statement (:mod:`.folding`).
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
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shopmesh.analytics.domain import EMPTY_STATS, Stats, StatsDelta, UserStats
from shopmesh.analytics.folding import FOLD_ON_POSTGRESQL, fold_params
from shopmesh.kit.db import insert_for, new_metadata, rowcount
from shopmesh.kit.uow import UnitOfWork

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


_EVENT_TIME = bindparam("event_time", type_=DateTime(timezone=True))
# Adds one user's folded delta to their row (executed for many users at once).
_ADD_TO_USER = (
    update(user_stats)
    .where(user_stats.c.user_id == bindparam("uid"))
    .values(
        transactions=user_stats.c.transactions + bindparam("transactions"),
        amount=func.round(user_stats.c.amount + bindparam("amount", type_=Total), 2),
        paid_transactions=user_stats.c.paid_transactions + bindparam("paid"),
        last_event_time=case(
            (user_stats.c.last_event_time.is_(None), _EVENT_TIME),
            (user_stats.c.last_event_time < _EVENT_TIME, _EVENT_TIME),
            else_=user_stats.c.last_event_time,
        ),
    )
)


class StatsStore:
    """The totals of one unit of work (on its connection)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, deltas: Sequence[StatsDelta]) -> None:
        """Add the events' ``deltas``: one statement on PostgreSQL (see :mod:`.folding`), a
        few on SQLite, however many events.

        The deltas are folded per user first; the stats row is locked first (its
        update), then the user rows in id order.
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
        if self._connection.dialect.name == "postgresql":
            params = fold_params(STATS_ROW_ID, per_user, total, events=len(deltas))
            await self._connection.execute(FOLD_ON_POSTGRESQL, params)
            return
        await self._add_to_totals(total, events=len(deltas))
        users = sorted(per_user)
        if new_users := await self._insert_missing_users(users):
            await self._connection.execute(
                update(stats).values(unique_users=stats.c.unique_users + new_users)
            )
        await self._connection.execute(_ADD_TO_USER, [_user_params(per_user[u]) for u in users])

    async def totals(self) -> Stats:
        """The totals (all zeros before the first event)."""
        row = (await self._connection.execute(select(stats))).one_or_none()
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

    async def users(self, *, limit: int, offset: int) -> list[UserStats]:
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
            for row in (await self._connection.execute(query)).all()
        ]

    async def _insert_missing_users(self, users: list[int]) -> int:
        """Insert an empty row for each user that has none (atomically); how many were new."""
        statement = (
            insert_for(self._connection, user_stats)
            .values([_empty_user_row(user) for user in users])
            .on_conflict_do_nothing()
            .returning(user_stats.c.user_id)
        )
        return len((await self._connection.execute(statement)).all())

    async def _add_to_totals(self, delta: StatsDelta, *, events: int) -> None:
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
        if rowcount(await self._connection.execute(statement)) == 0:
            # The migration seeds the row; recreate it if someone removed it.
            seed = insert_for(self._connection, stats).values(**EMPTY_STATS_ROW)
            await self._connection.execute(seed.on_conflict_do_nothing())
            await self._connection.execute(statement)


class AnalyticsUnitOfWork(UnitOfWork):
    """Analytics' transaction: the totals (events applied by the consumer in it)."""

    stats: StatsStore

    def open_repositories(self, connection: AsyncConnection) -> None:
        self.stats = StatsStore(connection)


def _user_params(delta: StatsDelta) -> dict[str, Any]:
    return {
        "uid": delta.user_id,
        "transactions": delta.transactions,
        "amount": delta.amount,
        "paid": delta.paid_transactions,
        "event_time": delta.event_time.astimezone(UTC),
    }


def _empty_user_row(user_id: int) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "transactions": 0,
        "amount": Decimal("0.00"),
        "paid_transactions": 0,
        "last_event_time": None,
    }


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
