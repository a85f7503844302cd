"""Payments tables: transactions, per-user accounts, idempotency records; the kit's outbox.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopmesh.kit.db import IdType
from shopmesh.kit.migrations import create_kit_tables, drop_kit_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_kit_tables(op)
    op.create_table(
        "payment_transaction",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("is_paid", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )
    op.create_index("ix_payment_transaction_user_id_id", "payment_transaction", ["user_id", "id"])
    op.create_table(
        "account",
        sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("total_amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("unpaid_amount", sa.Numeric(18, 2), nullable=False),
    )
    op.create_table(
        "idempotency_record",
        sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("result", sa.JSON()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("idempotency_record")
    op.drop_table("account")
    op.drop_index("ix_payment_transaction_user_id_id", table_name="payment_transaction")
    op.drop_table("payment_transaction")
    drop_kit_tables(op)
