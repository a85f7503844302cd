"""Accounts get an email (unique in any case) and a display name; password reset tokens.

Revision ID: 0003
Revises: 0002
Create Date: 2025-06-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopmesh.kit.db import IdType

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("email_key", sa.String(254), nullable=True))
        batch.add_column(sa.Column("name", sa.String(100), nullable=True))
        batch.create_unique_constraint("uq_user_account_email_key", ["email_key"])
    op.create_table(
        "password_reset",
        sa.Column("id", IdType, autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", IdType, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_password_reset"),
        sa.UniqueConstraint("token_hash", name="uq_password_reset_token_hash"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name="fk_password_reset_user_id_user_account",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_password_reset_user_id", "password_reset", ["user_id"])
    op.create_index("ix_password_reset_created_at", "password_reset", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_password_reset_created_at", table_name="password_reset")
    op.drop_index("ix_password_reset_user_id", table_name="password_reset")
    op.drop_table("password_reset")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_constraint("uq_user_account_email_key", type_="unique")
        batch.drop_column("name")
        batch.drop_column("email_key")
        batch.drop_column("email")
