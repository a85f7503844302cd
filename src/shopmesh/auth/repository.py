"""The auth database: accounts, refresh tokens, password reset tokens. Queries only; the
caller commits."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shopmesh.auth.domain import (
    EmailTaken,
    RefreshToken,
    ResetToken,
    User,
    UsernameTaken,
    login_key,
    username_key,
)
from shopmesh.kit.db import IdType, new_metadata
from shopmesh.kit.validation import EMAIL_MAX, email_key

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


def _utc(value: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


def _user(row: UserAccount) -> User:
    return User(
        id=row.id,
        username=row.username,
        role=row.role,
        created_at=_utc(row.created_at),
        email=row.email,
        name=row.name,
    )


async def add_user(
    session: AsyncSession,
    username: str,
    *,
    password_hash: str,
    role: str,
    now: datetime,
    email: str | None = None,
    name: str | None = None,
) -> User:
    """Insert an account; raises :class:`UsernameTaken` or :class:`EmailTaken` when the
    name or the email exists in any case."""
    row = UserAccount(
        username=username,
        username_key=username_key(username),
        password_hash=password_hash,
        role=role,
        created_at=now,
        email=email,
        email_key=None if email is None else email_key(email),
        name=name,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise (EmailTaken() if "email_key" in str(exc.orig) else UsernameTaken()) from None
    return _user(row)


async def username_in_use(session: AsyncSession, username: str) -> bool:
    query = select(UserAccount.id).where(UserAccount.username_key == username_key(username))
    return (await session.execute(query)).first() is not None


async def email_in_use(session: AsyncSession, email: str) -> bool:
    query = select(UserAccount.id).where(UserAccount.email_key == email_key(email))
    return (await session.execute(query)).first() is not None


async def find_user_with_hash(session: AsyncSession, login: str) -> tuple[User, str] | None:
    """The account whose username or email is ``login`` (any case), and its password hash."""
    key = login_key(login)
    query = select(UserAccount).where(
        or_(UserAccount.username_key == key, UserAccount.email_key == key)
    )
    row = (await session.execute(query)).scalars().first()
    return None if row is None else (_user(row), row.password_hash)


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    query = select(UserAccount).where(UserAccount.email_key == email_key(email))
    row = (await session.execute(query)).scalar_one_or_none()
    return None if row is None else _user(row)


async def set_password(session: AsyncSession, user_id: int, password_hash: str) -> None:
    await session.execute(
        update(UserAccount).where(UserAccount.id == user_id).values(password_hash=password_hash)
    )


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    row = await session.get(UserAccount, user_id)
    return None if row is None else _user(row)


async def add_refresh_token(
    session: AsyncSession,
    user_id: int,
    *,
    token_hash: str,
    family_id: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    session.add(
        RefreshTokenRow(
            token_hash=token_hash,
            user_id=user_id,
            family_id=family_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()


async def find_refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    """The token with this hash, locked (PostgreSQL) so two refreshes of it queue."""
    query = (
        select(RefreshTokenRow).where(RefreshTokenRow.token_hash == token_hash).with_for_update()
    )
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        return None
    return RefreshToken(
        id=row.id,
        user_id=row.user_id,
        family_id=row.family_id,
        expires_at=_utc(row.expires_at),
        used_at=_maybe_utc(row.used_at),
        revoked_at=_maybe_utc(row.revoked_at),
    )


async def mark_refresh_token_used(session: AsyncSession, token_id: int, *, now: datetime) -> None:
    await session.execute(
        update(RefreshTokenRow).where(RefreshTokenRow.id == token_id).values(used_at=now)
    )


async def revoke_family(session: AsyncSession, family_id: str, *, now: datetime) -> None:
    """Revoke every token of a refresh session."""
    await session.execute(
        update(RefreshTokenRow)
        .where(RefreshTokenRow.family_id == family_id, RefreshTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_user_sessions(session: AsyncSession, user_id: int, *, now: datetime) -> None:
    """Revoke every refresh session of a user (after a password reset)."""
    await session.execute(
        update(RefreshTokenRow)
        .where(RefreshTokenRow.user_id == user_id, RefreshTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def add_reset_token(
    session: AsyncSession, user_id: int, *, token_hash: str, now: datetime, expires_at: datetime
) -> None:
    session.add(
        PasswordResetRow(
            token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires_at
        )
    )
    await session.flush()


async def resets_since(session: AsyncSession, user_id: int, since: datetime) -> int:
    """How many reset tokens the user was sent since ``since``."""
    query = select(func.count()).where(
        PasswordResetRow.user_id == user_id, PasswordResetRow.created_at >= since
    )
    return int((await session.execute(query)).scalar_one())


async def find_reset_token(session: AsyncSession, token_hash: str) -> ResetToken | None:
    """The reset token with this hash, locked (PostgreSQL) so two uses of it queue."""
    query = (
        select(PasswordResetRow).where(PasswordResetRow.token_hash == token_hash).with_for_update()
    )
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        return None
    return ResetToken(
        id=row.id,
        user_id=row.user_id,
        expires_at=_utc(row.expires_at),
        used_at=_maybe_utc(row.used_at),
    )


async def use_reset_tokens(session: AsyncSession, user_id: int, *, now: datetime) -> None:
    """Spend every open reset token of a user: once the password changed, none works."""
    await session.execute(
        update(PasswordResetRow)
        .where(PasswordResetRow.user_id == user_id, PasswordResetRow.used_at.is_(None))
        .values(used_at=now)
    )
