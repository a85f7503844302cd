"""Dispatcher tables: shipments and webhook deliveries; the kit's outbox and processed events.

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

_at = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_kit_tables(op)
    op.create_table(
        "shipment",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("total_cost", sa.Numeric(12, 2), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("ordered_at", _at, nullable=False),
        sa.Column("created_at", _at, nullable=False),
        sa.Column("due_at", _at, nullable=False),
        sa.Column("dispatched_at", _at),
        sa.Column("cancelled_at", _at),
        sa.UniqueConstraint("order_id", name="uq_shipment_order_id"),
    )
    op.create_index("ix_shipment_status_due_at", "shipment", ["status", "due_at"])
    op.create_table(
        "webhook_delivery",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("shipment_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("next_attempt_at", _at, nullable=False),
        sa.Column("last_error", sa.String(500)),
        sa.Column("created_at", _at, nullable=False),
        sa.Column("delivered_at", _at),
    )
    op.create_index(
        "ix_webhook_delivery_status_next_attempt_at",
        "webhook_delivery",
        ["status", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_status_next_attempt_at", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_index("ix_shipment_status_due_at", table_name="shipment")
    op.drop_table("shipment")
    drop_kit_tables(op)
