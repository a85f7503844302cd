"""The auth unit of work in memory: accounts and refresh tokens."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shopmesh.auth.domain import RefreshToken, User, UsernameTaken, username_key
from tests.fakes import FakeStore, FakeUnitOfWork


class AuthStore(FakeStore):
    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, tuple[User, str]] = {}  # username key -> (user, hash)
        self.tokens: dict[str, RefreshToken] = {}  # token hash -> token


class FakeUsers:
    """:class:`shopmesh.auth.repository.Users` in memory."""

    def __init__(self, store: AuthStore) -> None:
        self._store = store

    async def add(self, username: str, *, password_hash: str, role: str, now: datetime) -> User:
        if username_key(username) in self._store.users:
            raise UsernameTaken()
        user = User(len(self._store.users) + 1, username, role, now)
        self._store.users[username_key(username)] = (user, password_hash)
        return user

    async def with_hash(self, username: str) -> tuple[User, str] | None:
        return self._store.users.get(username_key(username))

    async def get(self, user_id: int) -> User | None:
        found = [user for user, _ in self._store.users.values() if user.id == user_id]
        return found[0] if found else None


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


class FakeAuthUnitOfWork(FakeUnitOfWork):
    store: AuthStore

    def open_repositories(self) -> None:
        self.users = FakeUsers(self.store)
        self.refresh_tokens = FakeRefreshTokens(self.store)
