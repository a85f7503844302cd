"""The payments tables: transactions, per-user accounts, idempotency records."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Index,
    Numeric,
    String,
    Table,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shopmesh.kit.db import IdType, UTCDateTime, new_metadata
from shopmesh.kit.idempotency import idempotency_table

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
    # The order this transaction charged (one charge per order), if it is an order's.
    order_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # A voided charge (its order was cancelled) no longer counts toward the limit.
    is_voided: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountRow(Base):
    """One row per user: the totals the limit is checked against, updated atomically."""

    __tablename__ = "account"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    total_amount: Mapped[Decimal] = mapped_column(TotalType, nullable=False)
    unpaid_amount: Mapped[Decimal] = mapped_column(TotalType, nullable=False)


transaction_table = cast(Table, TransactionRow.__table__)
account = cast(Table, AccountRow.__table__)
idempotency_record = idempotency_table(Base.metadata)
