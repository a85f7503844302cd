"""Products tables: the catalogue and stock reservations; the kit's outbox and processed events.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopmesh.kit.db import IdType
from shopmesh.kit.migrations import create_kit_tables, drop_kit_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_kit_tables(op)
    op.create_table(
        "product",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("stock_quantity", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(100)),
        sa.Column("brand", sa.String(100)),
        sa.Column("model", sa.String(100)),
        sa.Column("sku", sa.String(64)),
        sa.Column("images", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("specifications", sa.JSON(), nullable=False),
        sa.Column("additional_info", sa.Text(), nullable=False),
        sa.Column("rating", sa.Numeric(2, 1), nullable=False),
        sa.Column("rating_count", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("price > 0", name="price_positive"),
        sa.CheckConstraint("stock_quantity >= 0", name="stock_not_negative"),
        sa.CheckConstraint("rating >= 0 AND rating <= 5", name="rating_range"),
        sa.CheckConstraint("rating_count >= 0", name="rating_count_not_negative"),
        sa.UniqueConstraint("sku"),
    )
    op.create_index("ix_product_category", "product", ["category"])
    op.create_index("ix_product_is_active", "product", ["is_active"])
    op.create_table(
        "stock_reservation",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("reservation_id", sa.String(36), nullable=False),
        sa.Column("product_id", sa.BigInteger(), sa.ForeignKey("product.id"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("status IN ('reserved', 'released')", name="status_known"),
        sa.UniqueConstraint("reservation_id"),
    )
    op.create_index("ix_stock_reservation_product_id", "stock_reservation", ["product_id"])


def downgrade() -> None:
    op.drop_index("ix_stock_reservation_product_id", table_name="stock_reservation")
    op.drop_table("stock_reservation")
    op.drop_index("ix_product_is_active", table_name="product")
    op.drop_index("ix_product_category", table_name="product")
    op.drop_table("product")
    drop_kit_tables(op)
