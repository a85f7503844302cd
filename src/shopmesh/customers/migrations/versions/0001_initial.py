"""Customers: the customer table; the kit's outbox and processed-event tables.

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
        "customer",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column("email_key", sa.String(254)),
        sa.Column("address", sa.String(200)),
        sa.Column("city", sa.String(100)),
        sa.Column("mobile", sa.String(20)),
        sa.Column("preferences", sa.JSON(), nullable=False),
        sa.Column("location", sa.String(100)),
        sa.Column("interests", sa.JSON(), nullable=False),
        sa.Column("search_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customer"),
        sa.UniqueConstraint("user_id", name="uq_customer_user_id"),
        sa.UniqueConstraint("email_key", name="uq_customer_email_key"),
    )


def downgrade() -> None:
    op.drop_table("customer")
    drop_kit_tables(op)
