"""Orders tables: customer orders and idempotency records; the kit's outbox and processed events.

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

_INDEX = "ix_customer_order_customer_id_created_at"


def upgrade() -> None:
    create_kit_tables(op)
    op.create_table(
        "customer_order",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("reference", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("product_name", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("per_cost", sa.Numeric(12, 2), nullable=False),
        sa.Column("total_cost", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(32), nullable=False),
        sa.UniqueConstraint("reference"),
        sa.CheckConstraint("status IN ('Created', 'Dispatched', 'Cancelled')", name="status_known"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )
    op.create_index(_INDEX, "customer_order", ["customer_id", "created_at"])
    op.create_table(
        "idempotency_record",
        sa.Column("customer_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("order_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("idempotency_record")
    op.drop_index(_INDEX, table_name="customer_order")
    op.drop_table("customer_order")
    drop_kit_tables(op)
