"""Accounts, credentials rules, refresh sessions and the event auth publishes (pure, no I/O)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar, Literal

from shopmesh.kit.errors import BadRequest, Conflict, Unauthorized
from shopmesh.kit.events import Event
from shopmesh.kit.validation import email_key

USERNAME_MIN, USERNAME_MAX = 3, 50
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
PASSWORD_MIN, PASSWORD_MAX = 8, 128


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


def username_key(username: str) -> str:
    """The form usernames are compared in: ``Alice`` and ``alice`` are one account."""
    return username.lower()


def login_key(identifier: str) -> str:
    """What a login name is looked up by: a username, or an email (usernames have no ``@``)."""
    return email_key(identifier) if "@" in identifier else username_key(identifier)


_NOT_IN_USERNAMES = re.compile(r"[^A-Za-z0-9_.-]+")


def username_from_email(email: str, *, suffix: str = "") -> str:
    """A valid username made from an email's local part (``ann.lee@x.org`` -> ``ann.lee``).

    ``suffix`` tells apart people whose addresses start alike (``ann.lee-4f2a``).
    """
    base = _NOT_IN_USERNAMES.sub("", email.partition("@")[0]).strip(".-") or "user"
    base = base[: USERNAME_MAX - (len(suffix) + 1 if suffix else 0)]
    if len(base) < USERNAME_MIN:
        base = f"{base}_user"
    return f"{base}-{suffix}" if suffix else base


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: str
    created_at: datetime
    email: str | None = None
    name: str | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.username


@dataclass(frozen=True, slots=True)
class NewProfile:
    """What a person typed about themselves at registration; auth passes it to customers."""

    name: str | None = None
    address: str | None = None
    city: str | None = None
    mobile: str | None = None
    location: str | None = None
    sex: str | None = None
    preferences: dict[str, str] | str | None = None
    interests: list[str] = field(default_factory=list)


class UserRegistered(Event):
    """A new account exists, with what its owner typed about themselves (customers create
    the profile from this). The profile fields came later: readers must do without them."""

    topic: ClassVar[str] = "user-events"
    event_type: Literal["user.registered"] = "user.registered"
    user_id: int
    username: str
    role: str
    registered_at: datetime
    email: str | None = None
    name: str | None = None
    address: str | None = None
    city: str | None = None
    mobile: str | None = None
    location: str | None = None
    sex: str | None = None
    preferences: dict[str, str] | str | None = None
    interests: list[str] = []

    def key(self) -> str:
        return str(self.user_id)

    @classmethod
    def of(cls, user: User, profile: NewProfile | None = None) -> UserRegistered:
        return cls(
            user_id=user.id,
            username=user.username,
            role=user.role,
            registered_at=user.created_at,
            occurred_at=user.created_at,
            producer="auth",
            email=user.email,
            **asdict(profile or NewProfile()),
        )


def new_token() -> str:
    """A random opaque token (refresh, password reset); only its hash is stored."""
    return secrets.token_urlsafe(32)


def successor_token(token: str, *, key: str) -> str:
    """The refresh token that replaces ``token`` when it is rotated.

    Derived (HMAC with a server secret) rather than random, so an exchange of the
    same token repeated within the grace window can answer the same successor
    without the clear successor ever being stored; nobody without the key can
    compute it from the old token.
    """
    digest = hmac.new(key.encode(), b"refresh-successor:" + token.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    # A fast hash is enough: the token is 256 random bits, not a guessable password.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ResetToken:
    """A password reset link's token: it works once, until it expires."""

    id: int
    user_id: int
    expires_at: datetime
    used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and self.expires_at > now


class RefreshState(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    # Used a moment ago: presented again within the grace window (several tabs, a retry).
    ROTATED = "rotated"
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

    def state(self, now: datetime, *, grace: timedelta = timedelta(0)) -> RefreshState:
        """Revocation wins; a used link presented again after ``grace`` means someone
        kept a copy of it, within ``grace`` it is a concurrent exchange of the same cookie."""
        if self.revoked_at is not None:
            return RefreshState.REVOKED
        if self.used_at is not None:
            return RefreshState.ROTATED if now - self.used_at < grace else RefreshState.REUSED
        if self.expires_at <= now:
            return RefreshState.EXPIRED
        return RefreshState.VALID


def refresh_expiry(now: datetime, *, ttl_seconds: int) -> datetime:
    return now + timedelta(seconds=ttl_seconds)


class UsernameTaken(Conflict):
    code = "username_taken"

    def __init__(self) -> None:
        super().__init__("username is already taken")


class EmailTaken(Conflict):
    code = "email_taken"

    def __init__(self) -> None:
        super().__init__("an account with this email already exists")


class InvalidCredentials(Unauthorized):
    """Unknown username or email, or a wrong password: one answer for all of them."""

    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("invalid username, email or password")


class InvalidResetToken(BadRequest):
    code = "invalid_reset_token"

    def __init__(self) -> None:
        super().__init__("this password reset link is invalid, used or expired")


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
