"""The orders database's tables: one row per order line, the reservation intents, the
idempotency records (one metadata, which the migrations compare against)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, Numeric, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shopmesh.kit.db import IdType, UTCDateTime, new_metadata
from shopmesh.kit.idempotency import idempotency_table


class Base(DeclarativeBase):
    metadata = new_metadata()


class OrderRow(Base):
    """One product line of a customer's order."""

    __tablename__ = "customer_order"
    __table_args__ = (
        CheckConstraint(
            "status IN ('Created', 'Paid', 'Payment declined', 'Dispatched', 'Cancelled')",
            name="status_known",
        ),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_customer_order_customer_id_created_at", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    product_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    product_name: Mapped[str] = mapped_column(Text, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    per_cost: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    total_cost: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    currency: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(32), nullable=False)
    checkout_id: Mapped[str] = mapped_column(String(36), nullable=False)
    transaction_id: Mapped[int | None] = mapped_column(BigInteger)
    decline_reason: Mapped[str | None] = mapped_column(String(64))


class ReservationIntentRow(Base):
    """Stock about to be (or being) reserved at products for an order not recorded yet.

    Written before the reservation, deleted in the transaction that records the
    order: one still here after a grace period belongs to an order that never
    was (its request failed or its process died), so its stock is released.
    """

    __tablename__ = "reservation_intent"

    reference: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


# Core statements on the table: rows come back as plain tuples, no ORM identity map involved.
ORDER_TABLE = cast(Table, OrderRow.__table__)
idempotency_record = idempotency_table(Base.metadata)
