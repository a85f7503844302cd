"""A sample service's schema for the kit's tests: one table plus the kit's tables."""

import sqlalchemy as sa
from alembic import op

from shopmesh.kit.migrations import create_kit_tables, drop_kit_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_kit_tables(op)
    op.create_table(
        "note",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("body", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("note")
    drop_kit_tables(op)
