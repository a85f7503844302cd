"""The auth tables: accounts, refresh tokens, password reset tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import DateTime, ForeignKey, Index, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shopmesh.auth.domain import User
from shopmesh.kit.db import IdType, new_metadata
from shopmesh.kit.validation import EMAIL_MAX

# BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.


class Base(DeclarativeBase):
    metadata = new_metadata()


class UserAccount(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(50))
    # Lower-cased username: the unique key that makes "Alice" and "alice" one account.
    username_key: Mapped[str] = mapped_column(String(50), unique=True)
    password_hash: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX))
    # Lower-cased email: one account per address in any case (NULLs never collide).
    email_key: Mapped[str | None] = mapped_column(String(EMAIL_MAX), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))


class RefreshTokenRow(Base):
    __tablename__ = "refresh_token"
    __table_args__ = (Index("ix_refresh_token_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PasswordResetRow(Base):
    __tablename__ = "password_reset"
    __table_args__ = (Index("ix_password_reset_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


user_account = cast(Table, UserAccount.__table__)
refresh_token = cast(Table, RefreshTokenRow.__table__)
password_reset = cast(Table, PasswordResetRow.__table__)
# The columns a User is read from.
USER_COLUMNS = (
    user_account.c.id,
    user_account.c.username,
    user_account.c.role,
    user_account.c.created_at,
    user_account.c.email,
    user_account.c.name,
)


def utc(value: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def to_user(row: Any) -> User:
    return User(
        id=row.id,
        username=row.username,
        role=row.role,
        created_at=utc(row.created_at),
        email=row.email,
        name=row.name,
    )
