"""Refresh tokens and password reset tokens, on one unit of work's connection."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.auth.domain import RefreshToken, ResetToken
from shopmesh.auth.repository.tables import maybe_utc, password_reset, refresh_token, utc


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
            expires_at=utc(row.expires_at),
            used_at=maybe_utc(row.used_at),
            revoked_at=maybe_utc(row.revoked_at),
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

    async def revoke_user_sessions(self, user_id: int, *, now: datetime) -> None:
        """Revoke every refresh session of a user (after a password reset)."""
        await self._connection.execute(
            update(refresh_token)
            .where(refresh_token.c.user_id == user_id, refresh_token.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


class ResetTokens:
    """The password reset tokens of one unit of work (on its connection)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(
        self, user_id: int, *, token_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        statement = insert(password_reset).values(
            token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires_at
        )
        await self._connection.execute(statement)

    async def sent_since(self, user_id: int, since: datetime) -> int:
        """How many reset tokens the user was sent since ``since``."""
        query = select(func.count()).where(
            password_reset.c.user_id == user_id, password_reset.c.created_at >= since
        )
        return int((await self._connection.execute(query)).scalar_one())

    async def find(self, token_hash: str) -> ResetToken | None:
        """The reset token with this hash, locked (PostgreSQL) so two uses of it queue."""
        query = (
            select(password_reset)
            .where(password_reset.c.token_hash == token_hash)
            .with_for_update()
        )
        row = (await self._connection.execute(query)).first()
        if row is None:
            return None
        return ResetToken(
            id=row.id,
            user_id=row.user_id,
            expires_at=utc(row.expires_at),
            used_at=maybe_utc(row.used_at),
        )

    async def use_all(self, user_id: int, *, now: datetime) -> None:
        """Spend every open reset token of a user: once the password changed, none works."""
        await self._connection.execute(
            update(password_reset)
            .where(password_reset.c.user_id == user_id, password_reset.c.used_at.is_(None))
            .values(used_at=now)
        )
