"""Customers: a profile's id is its owner's user id; the ``sex`` field.

The commerce seed's app reads the caller's profile at ``/api/customers/{user id}``,
so a profile takes its owner's id. Existing profiles are renumbered in two steps
(through negative ids) so no two rows ever share an id on the way.

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
    op.add_column("customer", sa.Column("sex", sa.String(50)))
    op.execute("UPDATE customer SET id = -user_id WHERE id <> user_id")
    op.execute("UPDATE customer SET id = -id WHERE id < 0")


def downgrade() -> None:
    # Ids stay as they are: any id is a valid one, and a user's id is never reused.
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("sex")
