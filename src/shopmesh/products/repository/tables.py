"""The products tables (ORM) and the mapping of a row to the domain's Product."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shopmesh.kit.db import IdType, UTCDateTime, new_metadata
from shopmesh.products.domain import Product


class Base(DeclarativeBase):
    metadata = new_metadata()


class ProductRow(Base):
    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("stock_quantity >= 0", name="stock_not_negative"),
        CheckConstraint("rating >= 0 AND rating <= 5", name="rating_range"),
        CheckConstraint("rating_count >= 0", name="rating_count_not_negative"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    stock_quantity: Mapped[int] = mapped_column(BigInteger, nullable=False)
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    brand: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    origin: Mapped[str | None] = mapped_column(String(100))
    sku: Mapped[str | None] = mapped_column(String(64), unique=True)
    images: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    specifications: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False)
    additional_info: Mapped[str] = mapped_column(Text, nullable=False)
    rating: Mapped[Decimal] = mapped_column(Numeric(2, 1), nullable=False)
    rating_count: Mapped[int] = mapped_column(Integer, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class StockReservationRow(Base):
    """Stock held for an order line; ``reservation_id`` makes reserving and releasing idempotent."""

    __tablename__ = "stock_reservation"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("status IN ('reserved', 'released')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    reservation_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    product_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("product.id"), nullable=False, index=True
    )
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def to_product(row: Any) -> Product:
    return Product(
        id=row.id,
        name=row.name,
        description=row.description,
        price=row.price,
        currency=row.currency,
        stock_quantity=row.stock_quantity,
        category=row.category,
        brand=row.brand,
        model=row.model,
        sku=row.sku,
        images=list(row.images),
        tags=list(row.tags),
        specifications=dict(row.specifications),
        additional_info=row.additional_info,
        rating=row.rating,
        rating_count=row.rating_count,
        is_active=row.is_active,
        created_at=row.created_at,
        updated_at=row.updated_at,
        origin=row.origin,
    )
