"""Payments tables and queries. Functions run in the caller's transaction; none commits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Index,
    Numeric,
    String,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shopmesh.kit.db import IdType, UTCDateTime, new_metadata
from shopmesh.payments.domain import Balance, LimitPolicy, LimitScope, Transaction

# Running totals may outgrow one transaction's NUMERIC(12, 2) when only unpaid money counts.
TotalType = Numeric(18, 2)


class Base(DeclarativeBase):
    metadata = new_metadata()


class TransactionRow(Base):
    __tablename__ = "payment_transaction"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payment_transaction_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False)
    is_paid: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountRow(Base):
    """One row per user: the totals the limit is checked against, updated atomically."""

    __tablename__ = "account"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    total_amount: Mapped[Decimal] = mapped_column(TotalType, nullable=False)
    unpaid_amount: Mapped[Decimal] = mapped_column(TotalType, nullable=False)


class IdempotencyRecordRow(Base):
    """A request made with an Idempotency-Key and the result it produced."""

    __tablename__ = "idempotency_record"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


def _insert(session: AsyncSession, table: Any) -> Any:
    """An INSERT that supports ``ON CONFLICT DO NOTHING`` on the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


async def ensure_account(session: AsyncSession, user_id: int) -> None:
    """Create the user's account row unless it exists (safe under concurrency)."""
    zero = Decimal("0.00")
    statement = (
        _insert(session, AccountRow)
        .values(user_id=user_id, total_amount=zero, unpaid_amount=zero)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    await session.execute(statement)


async def try_charge(
    session: AsyncSession, user_id: int, *, amount: Decimal, policy: LimitPolicy
) -> bool:
    """Add ``amount`` to the user's totals if the limit allows it; one statement, so atomic.

    The row lock taken by the UPDATE serialises a user's charges until commit.
    ROUND keeps SQLite (which computes in binary floating point) exact to the cent.
    """
    counted = (
        AccountRow.unpaid_amount if policy.scope is LimitScope.UNPAID else AccountRow.total_amount
    )
    statement = (
        update(AccountRow)
        .where(AccountRow.user_id == user_id)
        .where(func.round(counted + amount, 2) <= policy.limit)
        .values(
            total_amount=func.round(AccountRow.total_amount + amount, 2),
            unpaid_amount=func.round(AccountRow.unpaid_amount + amount, 2),
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(await session.execute(statement)) == 1


async def get_balance(session: AsyncSession, user_id: int) -> Balance:
    query = select(AccountRow.total_amount, AccountRow.unpaid_amount).where(
        AccountRow.user_id == user_id
    )
    row = (await session.execute(query)).first()
    if row is None:
        return Balance()
    return Balance(total=row.total_amount, unpaid=row.unpaid_amount)


async def add_transaction(
    session: AsyncSession,
    user_id: int,
    *,
    amount: Decimal,
    description: str,
    created_at: datetime,
) -> Transaction:
    statement = (
        _insert(session, TransactionRow)
        .values(
            user_id=user_id,
            amount=amount,
            description=description,
            is_paid=False,
            created_at=created_at,
        )
        .returning(TransactionRow.id)
    )
    new_id = (await session.execute(statement)).scalar_one()
    return Transaction(
        id=int(new_id),
        user_id=user_id,
        amount=amount,
        description=description,
        is_paid=False,
        created_at=created_at,
    )


async def list_transactions(
    session: AsyncSession, user_id: int, *, limit: int, offset: int
) -> list[Transaction]:
    """The user's transactions, newest first (ids grow with time)."""
    query = (
        select(TransactionRow)
        .where(TransactionRow.user_id == user_id)
        .order_by(TransactionRow.id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.execute(query)).scalars().all()
    return [_to_transaction(row) for row in rows]


def _to_transaction(row: TransactionRow) -> Transaction:
    return Transaction(
        id=row.id,
        user_id=row.user_id,
        amount=row.amount,
        description=row.description,
        is_paid=row.is_paid,
        created_at=row.created_at,
    )


async def clear_unpaid(session: AsyncSession, user_id: int) -> None:
    """Zero the unpaid balance; it also locks the account so no charge slips in meanwhile."""
    statement = (
        update(AccountRow)
        .where(AccountRow.user_id == user_id)
        .values(unpaid_amount=Decimal("0.00"))
        .execution_options(synchronize_session=False)
    )
    await session.execute(statement)


async def mark_all_paid(session: AsyncSession, user_id: int, *, paid_at: datetime) -> int:
    """Mark every unpaid transaction of the user paid; returns how many."""
    statement = (
        update(TransactionRow)
        .where(TransactionRow.user_id == user_id, TransactionRow.is_paid.is_(False))
        .values(is_paid=True, paid_at=paid_at)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(await session.execute(statement))


async def claim_idempotency_key(
    session: AsyncSession, user_id: int, *, key: str, request_hash: str, now: datetime
) -> IdempotencyRecordRow | None:
    """Reserve ``key`` for this request; returns the earlier record if it was taken.

    On PostgreSQL a concurrent claim of the same key waits here until the
    first request's transaction ends, then sees its record (or claims the key
    if that transaction rolled back).
    """
    statement = (
        _insert(session, IdempotencyRecordRow)
        .values(user_id=user_id, key=key, request_hash=request_hash, created_at=now)
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyRecordRow.key)
    )
    if (await session.execute(statement)).first() is not None:
        return None
    query = select(IdempotencyRecordRow).where(
        IdempotencyRecordRow.user_id == user_id, IdempotencyRecordRow.key == key
    )
    return (await session.execute(query)).scalar_one()


async def store_idempotent_result(
    session: AsyncSession, user_id: int, *, key: str, result: dict[str, Any]
) -> None:
    statement = (
        update(IdempotencyRecordRow)
        .where(IdempotencyRecordRow.user_id == user_id, IdempotencyRecordRow.key == key)
        .values(result=result)
        .execution_options(synchronize_session=False)
    )
    await session.execute(statement)
