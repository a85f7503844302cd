"""The indexes retention deletes by (kit.retention).

On the kit's outbox and processed-event tables and webhook_delivery.delivered_at.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

from alembic import op

from shopmesh.kit.migrations import create_retention_indexes, drop_retention_indexes

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_retention_indexes(op)
    op.create_index("ix_webhook_delivery_delivered_at", "webhook_delivery", ["delivered_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_delivered_at", table_name="webhook_delivery")
    drop_retention_indexes(op)
