"""The order saga: a transaction may be an order's charge (``order_id``, one per order) and
may be voided (``is_voided``, ``voided_at``: the order was cancelled before dispatch).

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
    with op.batch_alter_table("payment_transaction") as table:
        table.add_column(sa.Column("order_id", sa.BigInteger(), nullable=True))
        table.add_column(
            sa.Column("is_voided", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        table.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
        table.create_unique_constraint("uq_payment_transaction_order_id", ["order_id"])


def downgrade() -> None:
    with op.batch_alter_table("payment_transaction") as table:
        table.drop_constraint("uq_payment_transaction_order_id", type_="unique")
        table.drop_column("voided_at")
        table.drop_column("is_voided")
        table.drop_column("order_id")
