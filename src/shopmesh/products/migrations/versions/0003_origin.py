"""Products: the country of origin (the commerce seed's app shows it).

Revision ID: 0003
Revises: 0002
Create Date: 2025-06-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("product", sa.Column("origin", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("product") as batch:
        batch.drop_column("origin")
