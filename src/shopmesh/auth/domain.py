"""Accounts, credentials rules, refresh sessions and the event auth publishes (pure, no I/O)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar, Literal

from shopmesh.kit.errors import Conflict, Unauthorized
from shopmesh.kit.events import Event

USERNAME_MIN, USERNAME_MAX = 3, 50
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
PASSWORD_MIN, PASSWORD_MAX = 8, 128


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


def username_key(username: str) -> str:
    """The form usernames are compared in: ``Alice`` and ``alice`` are one account."""
    return username.lower()


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: str
    created_at: datetime


class UserRegistered(Event):
    """A new account exists (customers create its profile from this)."""

    topic: ClassVar[str] = "user-events"
    event_type: Literal["user.registered"] = "user.registered"
    user_id: int
    username: str
    role: str
    registered_at: datetime

    def key(self) -> str:
        return str(self.user_id)

    @classmethod
    def of(cls, user: User) -> UserRegistered:
        return cls(
            user_id=user.id,
            username=user.username,
            role=user.role,
            registered_at=user.created_at,
            occurred_at=user.created_at,
            producer="auth",
        )


def new_refresh_token() -> str:
    """A random opaque refresh token; only its hash is stored."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    # A fast hash is enough: the token is 256 random bits, not a guessable password.
    return hashlib.sha256(token.encode()).hexdigest()


class RefreshState(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REUSED = "reused"


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """One link of a refresh session (a family): each refresh replaces the link with a new one."""

    id: int
    user_id: int
    family_id: str
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None

    def state(self, now: datetime) -> RefreshState:
        # Revocation wins; a used link presented again means someone kept a copy of it.
        if self.revoked_at is not None:
            return RefreshState.REVOKED
        if self.used_at is not None:
            return RefreshState.REUSED
        if self.expires_at <= now:
            return RefreshState.EXPIRED
        return RefreshState.VALID


def refresh_expiry(now: datetime, *, ttl_seconds: int) -> datetime:
    return now + timedelta(seconds=ttl_seconds)


class UsernameTaken(Conflict):
    code = "username_taken"

    def __init__(self) -> None:
        super().__init__("username is already taken")


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("invalid username or password")


class RefreshRefused(Unauthorized):
    """No usable refresh cookie: missing, unknown, expired, revoked or reused."""

    code = "invalid_refresh_token"

    def __init__(self, message: str = "refresh token is missing, expired or revoked") -> None:
        super().__init__(message)


class RefreshReused(RefreshRefused):
    code = "refresh_token_reused"

    def __init__(self) -> None:
        super().__init__("refresh token was already used; the session has been revoked")


PRODUCED_EVENTS: tuple[type[Event], ...] = (UserRegistered,)
