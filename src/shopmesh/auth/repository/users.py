"""Accounts, on one unit of work's connection."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.auth.domain import EmailTaken, User, UsernameTaken, login_key, username_key
from shopmesh.auth.repository.tables import USER_COLUMNS, to_user, user_account
from shopmesh.kit.validation import email_key


class Users:
    """The accounts of one unit of work (on its connection)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(
        self,
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
        statement = (
            insert(user_account)
            .values(
                username=username,
                username_key=username_key(username),
                password_hash=password_hash,
                role=role,
                created_at=now,
                email=email,
                email_key=None if email is None else email_key(email),
                name=name,
            )
            .returning(*USER_COLUMNS)
        )
        try:
            row = (await self._connection.execute(statement)).one()
        except IntegrityError as exc:
            raise (EmailTaken() if "email_key" in str(exc.orig) else UsernameTaken()) from None
        return to_user(row)

    async def username_in_use(self, username: str) -> bool:
        query = select(user_account.c.id).where(
            user_account.c.username_key == username_key(username)
        )
        return (await self._connection.execute(query)).first() is not None

    async def email_in_use(self, email: str) -> bool:
        query = select(user_account.c.id).where(user_account.c.email_key == email_key(email))
        return (await self._connection.execute(query)).first() is not None

    async def with_hash(self, login: str) -> tuple[User, str] | None:
        """The account whose username or email is ``login`` (any case), and its password hash."""
        key = login_key(login)
        query = select(*USER_COLUMNS, user_account.c.password_hash).where(
            or_(user_account.c.username_key == key, user_account.c.email_key == key)
        )
        row = (await self._connection.execute(query)).first()
        return None if row is None else (to_user(row), row.password_hash)

    async def by_email(self, email: str) -> User | None:
        query = select(*USER_COLUMNS).where(user_account.c.email_key == email_key(email))
        row = (await self._connection.execute(query)).first()
        return None if row is None else to_user(row)

    async def get(self, user_id: int) -> User | None:
        query = select(*USER_COLUMNS).where(user_account.c.id == user_id)
        row = (await self._connection.execute(query)).first()
        return None if row is None else to_user(row)

    async def set_password(self, user_id: int, password_hash: str) -> None:
        await self._connection.execute(
            update(user_account)
            .where(user_account.c.id == user_id)
            .values(password_hash=password_hash)
        )
