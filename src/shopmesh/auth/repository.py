"""The auth database: accounts and refresh tokens, and the auth unit of work. Nothing commits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import DateTime, ForeignKey, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shopmesh.auth.domain import RefreshToken, User, UsernameTaken, username_key
from shopmesh.kit.db import IdType, new_metadata
from shopmesh.kit.uow import UnitOfWork


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


class RefreshTokenRow(Base):
    __tablename__ = "refresh_token"

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


user_account = cast(Table, UserAccount.__table__)
refresh_token = cast(Table, RefreshTokenRow.__table__)
_USER = (user_account.c.id, user_account.c.username, user_account.c.role, user_account.c.created_at)


def _utc(value: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


def _user(row: Any) -> User:
    return User(id=row.id, username=row.username, role=row.role, created_at=_utc(row.created_at))


class Users:
    """The accounts of one unit of work (on its connection)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, username: str, *, password_hash: str, role: str, now: datetime) -> User:
        """Insert an account; raises :class:`UsernameTaken` when the name exists in any case."""
        statement = (
            insert(user_account)
            .values(
                username=username,
                username_key=username_key(username),
                password_hash=password_hash,
                role=role,
                created_at=now,
            )
            .returning(*_USER)
        )
        try:
            row = (await self._connection.execute(statement)).one()
        except IntegrityError:
            raise UsernameTaken() from None
        return _user(row)

    async def with_hash(self, username: str) -> tuple[User, str] | None:
        """The account named ``username`` (any case) and its password hash."""
        query = select(*_USER, user_account.c.password_hash).where(
            user_account.c.username_key == username_key(username)
        )
        row = (await self._connection.execute(query)).first()
        return None if row is None else (_user(row), row.password_hash)

    async def get(self, user_id: int) -> User | None:
        query = select(*_USER).where(user_account.c.id == user_id)
        row = (await self._connection.execute(query)).first()
        return None if row is None else _user(row)


class RefreshTokens:
    """The refresh tokens of one unit of work (on its connection)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(
        self,
        user_id: int,
        *,
        token_hash: str,
        family_id: str,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        statement = insert(refresh_token).values(
            token_hash=token_hash,
            user_id=user_id,
            family_id=family_id,
            created_at=now,
            expires_at=expires_at,
        )
        await self._connection.execute(statement)

    async def find(self, token_hash: str) -> RefreshToken | None:
        """The token with this hash, locked (PostgreSQL) so two refreshes of it queue."""
        query = (
            select(refresh_token).where(refresh_token.c.token_hash == token_hash).with_for_update()
        )
        row = (await self._connection.execute(query)).first()
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

    async def mark_used(self, token_id: int, *, now: datetime) -> None:
        await self._connection.execute(
            update(refresh_token).where(refresh_token.c.id == token_id).values(used_at=now)
        )

    async def revoke_family(self, family_id: str, *, now: datetime) -> None:
        """Revoke every token of a refresh session."""
        await self._connection.execute(
            update(refresh_token)
            .where(refresh_token.c.family_id == family_id, refresh_token.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


class AuthUnitOfWork(UnitOfWork):
    """An auth use case's transaction: accounts, refresh tokens, the outbox."""

    users: Users
    refresh_tokens: RefreshTokens

    def open_repositories(self, connection: AsyncConnection) -> None:
        self.users = Users(connection)
        self.refresh_tokens = RefreshTokens(connection)
