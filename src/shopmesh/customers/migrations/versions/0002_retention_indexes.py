"""The indexes retention deletes by (kit.retention).

On the kit's outbox and processed-event tables.

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


def downgrade() -> None:
    drop_retention_indexes(op)
