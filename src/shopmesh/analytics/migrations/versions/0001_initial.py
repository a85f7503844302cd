"""Analytics totals: the single stats row, per-user stats, and the kit's event tables.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopmesh.kit.migrations import create_kit_tables, drop_kit_tables

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_kit_tables(op)
    stats = op.create_table(
        "stats",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("total_transactions", sa.BigInteger(), nullable=False),
        sa.Column("total_amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("total_paid_transactions", sa.BigInteger(), nullable=False),
        sa.Column("events_processed", sa.BigInteger(), nullable=False),
        sa.Column("unique_users", sa.BigInteger(), nullable=False),
        sa.Column("last_event_time", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_stats_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats")),
    )
    op.create_table(
        "user_stats",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("transactions", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("paid_transactions", sa.BigInteger(), nullable=False),
        sa.Column("last_event_time", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_stats")),
    )
    op.create_index("ix_user_stats_amount_desc", "user_stats", [sa.text("amount DESC"), "user_id"])
    # The one stats row exists from the start, so consumers only ever increment it.
    op.bulk_insert(
        stats,
        [
            {
                "id": 1,
                "total_transactions": 0,
                "total_amount": 0,
                "total_paid_transactions": 0,
                "events_processed": 0,
                "unique_users": 0,
                "last_event_time": None,
            }
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_user_stats_amount_desc", table_name="user_stats")
    op.drop_table("user_stats")
    op.drop_table("stats")
    drop_kit_tables(op)
