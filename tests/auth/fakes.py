"""The auth unit of work in memory: accounts, refresh tokens, password reset tokens."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shopmesh.auth.domain import (
    EmailTaken,
    RefreshToken,
    ResetToken,
    User,
    UsernameTaken,
    login_key,
    username_key,
)
from shopmesh.kit.validation import email_key
from tests.fakes import FakeStore, FakeUnitOfWork


class AuthStore(FakeStore):
    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, tuple[User, str]] = {}  # username key -> (user, hash)
        self.tokens: dict[str, RefreshToken] = {}  # token hash -> token
        self.resets: dict[str, tuple[ResetToken, datetime]] = {}  # hash -> (token, sent at)


class FakeUsers:
    """:class:`shopmesh.auth.repository.Users` in memory."""

    def __init__(self, store: AuthStore) -> None:
        self._store = store

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
        if email is not None and await self.email_in_use(email):
            raise EmailTaken()
        if await self.username_in_use(username):
            raise UsernameTaken()
        user = User(len(self._store.users) + 1, username, role, now, email=email, name=name)
        self._store.users[username_key(username)] = (user, password_hash)
        return user

    async def username_in_use(self, username: str) -> bool:
        return username_key(username) in self._store.users

    async def email_in_use(self, email: str) -> bool:
        return await self.by_email(email) is not None

    async def with_hash(self, login: str) -> tuple[User, str] | None:
        key = login_key(login)
        for user, password_hash in self._store.users.values():
            if key in (username_key(user.username), user.email and email_key(user.email)):
                return user, password_hash
        return None

    async def by_email(self, email: str) -> User | None:
        found = [
            user
            for user, _ in self._store.users.values()
            if user.email is not None and email_key(user.email) == email_key(email)
        ]
        return found[0] if found else None

    async def get(self, user_id: int) -> User | None:
        found = [user for user, _ in self._store.users.values() if user.id == user_id]
        return found[0] if found else None

    async def set_password(self, user_id: int, password_hash: str) -> None:
        for key, (user, _) in self._store.users.items():
            if user.id == user_id:
                self._store.users[key] = (user, password_hash)


class FakeRefreshTokens:
    """:class:`shopmesh.auth.repository.RefreshTokens` in memory."""

    def __init__(self, store: AuthStore) -> None:
        self._store = store

    async def add(
        self, user_id: int, *, token_hash: str, family_id: str, now: datetime, expires_at: datetime
    ) -> None:
        token = RefreshToken(len(self._store.tokens) + 1, user_id, family_id, expires_at)
        self._store.tokens[token_hash] = token

    async def find(self, token_hash: str) -> RefreshToken | None:
        return self._store.tokens.get(token_hash)

    async def mark_used(self, token_id: int, *, now: datetime) -> None:
        for token_hash, token in self._store.tokens.items():
            if token.id == token_id:
                self._store.tokens[token_hash] = replace(token, used_at=now)

    async def revoke_family(self, family_id: str, *, now: datetime) -> None:
        for token_hash, token in self._store.tokens.items():
            if token.family_id == family_id and token.revoked_at is None:
                self._store.tokens[token_hash] = replace(token, revoked_at=now)

    async def revoke_user_sessions(self, user_id: int, *, now: datetime) -> None:
        for token_hash, token in self._store.tokens.items():
            if token.user_id == user_id and token.revoked_at is None:
                self._store.tokens[token_hash] = replace(token, revoked_at=now)


class FakeResetTokens:
    """:class:`shopmesh.auth.repository.ResetTokens` in memory."""

    def __init__(self, store: AuthStore) -> None:
        self._store = store

    async def add(
        self, user_id: int, *, token_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        token = ResetToken(len(self._store.resets) + 1, user_id, expires_at)
        self._store.resets[token_hash] = (token, now)

    async def sent_since(self, user_id: int, since: datetime) -> int:
        return sum(
            1
            for token, sent in self._store.resets.values()
            if token.user_id == user_id and sent >= since
        )

    async def find(self, token_hash: str) -> ResetToken | None:
        found = self._store.resets.get(token_hash)
        return None if found is None else found[0]

    async def use_all(self, user_id: int, *, now: datetime) -> None:
        for token_hash, (token, sent) in self._store.resets.items():
            if token.user_id == user_id and token.used_at is None:
                self._store.resets[token_hash] = (replace(token, used_at=now), sent)


class FakeAuthUnitOfWork(FakeUnitOfWork):
    store: AuthStore

    def open_repositories(self) -> None:
        self.users = FakeUsers(self.store)
        self.refresh_tokens = FakeRefreshTokens(self.store)
        self.reset_tokens = FakeResetTokens(self.store)
