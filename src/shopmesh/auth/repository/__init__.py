"""The auth database (accounts, refresh tokens, password reset tokens) and the auth unit of
work. Nothing here commits: the unit of work does."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.auth.repository.tables import (
    Base,
    PasswordResetRow,
    RefreshTokenRow,
    UserAccount,
    password_reset,
    refresh_token,
    user_account,
)
from shopmesh.auth.repository.tokens import RefreshTokens, ResetTokens
from shopmesh.auth.repository.users import Users
from shopmesh.kit.uow import UnitOfWork

__all__ = [
    "AuthUnitOfWork",
    "Base",
    "PasswordResetRow",
    "RefreshTokenRow",
    "RefreshTokens",
    "ResetTokens",
    "UserAccount",
    "Users",
    "password_reset",
    "refresh_token",
    "user_account",
]


class AuthUnitOfWork(UnitOfWork):
    """An auth use case's transaction: accounts, refresh and reset tokens, the outbox."""

    users: Users
    refresh_tokens: RefreshTokens
    reset_tokens: ResetTokens

    def open_repositories(self, connection: AsyncConnection) -> None:
        self.users = Users(connection)
        self.refresh_tokens = RefreshTokens(connection)
        self.reset_tokens = ResetTokens(connection)
