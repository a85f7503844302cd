"""The indexes retention deletes by (kit.retention).

On the kit's outbox and processed-event tables and idempotency_record.created_at.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

from alembic import op

from shopmesh.kit.migrations import create_retention_indexes, drop_retention_indexes

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_retention_indexes(op)
    op.create_index("ix_idempotency_record_created_at", "idempotency_record", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_record_created_at", table_name="idempotency_record")
    drop_retention_indexes(op)
