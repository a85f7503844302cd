"""The order saga: orders are paid before they are dispatched.

``checkout_id`` (the POST an order was placed in; an older order is its own
checkout), ``transaction_id`` (the payments transaction that charged it),
``decline_reason``, and the statuses ``Paid`` and ``Payment declined``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_OLD = "status IN ('Created', 'Dispatched', 'Cancelled')"
_NEW = "status IN ('Created', 'Paid', 'Payment declined', 'Dispatched', 'Cancelled')"


def upgrade() -> None:
    with op.batch_alter_table("customer_order") as table:
        table.add_column(sa.Column("checkout_id", sa.String(36), nullable=True))
        table.add_column(sa.Column("transaction_id", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("decline_reason", sa.String(64), nullable=True))
    op.execute("UPDATE customer_order SET checkout_id = reference")
    with op.batch_alter_table("customer_order") as table:
        table.alter_column("checkout_id", existing_type=sa.String(36), nullable=False)
        table.drop_constraint("status_known", type_="check")
        table.create_check_constraint("status_known", sa.text(_NEW))


def downgrade() -> None:
    # Statuses the old schema does not know fall back to the nearest it does.
    op.execute(
        "UPDATE customer_order SET status = 'Created' WHERE status IN ('Paid', 'Payment declined')"
    )
    with op.batch_alter_table("customer_order") as table:
        table.drop_constraint("status_known", type_="check")
        table.create_check_constraint("status_known", sa.text(_OLD))
        table.drop_column("decline_reason")
        table.drop_column("transaction_id")
        table.drop_column("checkout_id")
