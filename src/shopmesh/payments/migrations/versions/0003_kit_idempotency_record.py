"""Idempotency records in the kit's shape: the caller's id is ``owner_id``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_record") as table:
        table.alter_column("user_id", new_column_name="owner_id")


def downgrade() -> None:
    with op.batch_alter_table("idempotency_record") as table:
        table.alter_column("owner_id", new_column_name="user_id")
