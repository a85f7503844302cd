"""Idempotency records in the kit's shape: ``owner_id`` (the customer), ``result`` (the ids
of the orders a request created; null while a request holds the key).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_record") as table:
        table.alter_column("customer_id", new_column_name="owner_id")
        table.alter_column(
            "order_ids", new_column_name="result", existing_type=sa.JSON(), nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_record") as table:
        table.alter_column("owner_id", new_column_name="customer_id")
        table.alter_column(
            "result", new_column_name="order_ids", existing_type=sa.JSON(), nullable=False
        )
