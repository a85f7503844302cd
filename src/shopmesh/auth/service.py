"""Use cases of the auth service: register, log in, refresh, log out, the admin account."""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shopmesh.auth.domain import (
    EmailTaken,
    InvalidCredentials,
    NewProfile,
    RefreshRefused,
    RefreshReused,
    RefreshState,
    Role,
    User,
    UsernameTaken,
    UserRegistered,
    hash_token,
    new_token,
    refresh_expiry,
    successor_token,
    username_from_email,
)
from shopmesh.auth.passwords import PasswordHasher
from shopmesh.auth.repository import AuthUnitOfWork
from shopmesh.auth.settings import Settings
from shopmesh.kit.clock import utcnow
from shopmesh.kit.errors import Unauthorized
from shopmesh.kit.jwt import Principal, issue_token

log = logging.getLogger(__name__)

# How many links a repeated exchange may follow to the current one (each was
# rotated within the grace window, so more than a few means something is wrong).
MAX_GRACE_HOPS = 5


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A user with a fresh access token and the refresh token for the cookie."""

    user: User
    access_token: str
    refresh_token: str


_USERNAME_ATTEMPTS = 5


async def _free_username(uow: AuthUnitOfWork, email: str, attempt: int) -> str:
    """A username made from ``email`` that nobody has yet (a random suffix when needed)."""
    plain = username_from_email(email)
    if attempt == 0 and not await uow.users.username_in_use(plain):
        return plain
    return username_from_email(email, suffix=secrets.token_hex(3))


class AuthService:
    """The use cases, each in a unit of work from ``units`` (outbox events included)."""

    def __init__(
        self,
        units: Callable[[], AuthUnitOfWork],
        settings: Settings,
        *,
        passwords: PasswordHasher,
    ) -> None:
        self._units = units
        self.settings = settings
        self._passwords = passwords

    async def register(
        self,
        username: str | None,
        password: str,
        *,
        email: str | None = None,
        profile: NewProfile | None = None,
    ) -> SignedIn:
        """Create a user account and sign it in; ``user.registered`` goes out with it.

        Without a username, one is made from the email (made unique with a suffix).
        """
        if username is None and email is None:
            raise ValueError("a username or an email is needed")
        password_hash = await self._passwords.hash(password)
        for attempt in range(_USERNAME_ATTEMPTS):
            try:
                user, refresh_token = await self._open_account(
                    username, password_hash, email=email, profile=profile, attempt=attempt
                )
            except UsernameTaken:
                # A name made from the email, taken a moment ago by someone else: make another.
                if username is not None or attempt == _USERNAME_ATTEMPTS - 1:
                    raise
                continue
            log.info("user registered", extra={"user_id": user.id})
            return self._signed_in(user, refresh_token)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _open_account(
        self,
        username: str | None,
        password_hash: str,
        *,
        email: str | None,
        profile: NewProfile | None,
        attempt: int,
    ) -> tuple[User, str]:
        """One unit of work: the account, its first refresh token, ``user.registered``."""
        now = utcnow()
        async with self._units() as uow:
            if email is not None and await uow.users.email_in_use(email):
                raise EmailTaken()
            name = username or await _free_username(uow, str(email), attempt)
            user = await self._create_user(
                uow, name, password_hash, role=Role.USER, now=now, email=email, profile=profile
            )
            return user, await self._open_refresh(uow, user, family_id=None, now=now)

    async def login(self, login: str, password: str) -> SignedIn:
        """Check the credentials (``login`` is a username or an email, in any case); an
        unknown login and a wrong password fail alike, in like time."""
        async with self._units() as uow:
            found = await uow.users.with_hash(login)
        # bcrypt runs outside any transaction: it must not hold the database for its duration.
        password_ok = await self._passwords.verify(password, found[1] if found else None)
        if found is None or not password_ok:
            raise InvalidCredentials()
        user = found[0]
        now = utcnow()
        async with self._units() as uow:
            refresh_token = await self._open_refresh(uow, user, family_id=None, now=now)
        return self._signed_in(user, refresh_token)

    async def current_user(self, principal: Principal) -> User:
        """The account behind a verified access token."""
        async with self._units() as uow:
            user = await uow.users.get(principal.user_id)
        if user is None:
            raise Unauthorized("the token's user no longer exists", code="invalid_token")
        return user

    async def refresh(self, refresh_token: str | None) -> SignedIn:
        """Trade a refresh token for a new access token and a new refresh token (rotation)."""
        if not refresh_token:
            raise RefreshRefused("refresh token missing")
        now = utcnow()
        async with self._units() as uow:
            outcome = await self._rotate(uow, refresh_token, now=now)
        # Raised after the commit: a detected reuse must revoke the family for good.
        if isinstance(outcome, RefreshRefused):
            raise outcome
        user, new_refresh = outcome
        return self._signed_in(user, new_refresh)

    async def logout(self, refresh_token: str | None) -> None:
        """End the refresh session of ``refresh_token``; nothing to do without one."""
        if not refresh_token:
            return
        async with self._units() as uow:
            found = await uow.refresh_tokens.find(hash_token(refresh_token))
            if found is not None:
                await uow.refresh_tokens.revoke_family(found.family_id, now=utcnow())

    async def ensure_admin(self) -> None:
        """Create the configured admin account unless it exists (safe on concurrent starts)."""
        username = self.settings.admin_username
        async with self._units() as uow:
            found = await uow.users.with_hash(username)
        if found is not None:
            if found[0].role != Role.ADMIN:
                log.warning("admin username belongs to a non-admin account; left unchanged")
            return
        password_hash = await self._passwords.hash(self.settings.admin_password)
        try:
            async with self._units() as uow:
                user = await self._create_user(
                    uow, username, password_hash, role=Role.ADMIN, now=utcnow()
                )
        except UsernameTaken:
            return  # another instance created it a moment ago
        log.info("admin account created", extra={"user_id": user.id, "username": user.username})

    async def _create_user(
        self,
        uow: AuthUnitOfWork,
        username: str,
        password_hash: str,
        *,
        role: Role,
        now: datetime,
        email: str | None = None,
        profile: NewProfile | None = None,
    ) -> User:
        user = await uow.users.add(
            username,
            password_hash=password_hash,
            role=role.value,
            now=now,
            email=email,
            name=profile.name if profile else None,
        )
        uow.outbox.add(UserRegistered.of(user, profile))
        return user

    async def _open_refresh(
        self,
        uow: AuthUnitOfWork,
        user: User,
        *,
        family_id: str | None,
        now: datetime,
        token: str | None = None,
    ) -> str:
        """Store a refresh token (random unless given; a new family unless given)
        and return its clear value."""
        token = token or new_token()
        await uow.refresh_tokens.add(
            user.id,
            token_hash=hash_token(token),
            family_id=family_id or str(uuid.uuid4()),
            now=now,
            expires_at=refresh_expiry(now, ttl_seconds=self.settings.refresh_token_ttl_seconds),
        )
        return token

    async def _rotate(
        self, uow: AuthUnitOfWork, token: str, *, now: datetime
    ) -> tuple[User, str] | RefreshRefused:
        """Replace ``token`` by its successor, or, when ``token`` was replaced within the
        grace window, answer the link that replaced it (followed to the current one)."""
        grace = timedelta(seconds=self.settings.refresh_reuse_grace_seconds)
        for hop in range(MAX_GRACE_HOPS):
            found = await uow.refresh_tokens.find(hash_token(token))
            if found is None:
                return RefreshRefused()
            state = found.state(now, grace=grace)
            if state is RefreshState.ROTATED:
                token = successor_token(token, key=self.settings.jwt_secret)
                continue
            if state is RefreshState.REUSED:
                # A rotated token came back late: whoever holds the family may be a thief; end it.
                await uow.refresh_tokens.revoke_family(found.family_id, now=now)
                log.warning("refresh token reuse detected", extra={"user_id": found.user_id})
                return RefreshReused()
            user = await uow.users.get(found.user_id)
            if state is not RefreshState.VALID or user is None:
                return RefreshRefused()
            if hop:  # the current link of a token exchanged a moment ago: the same answer
                return user, token
            await uow.refresh_tokens.mark_used(found.id, now=now)
            successor = successor_token(token, key=self.settings.jwt_secret)
            await self._open_refresh(uow, user, family_id=found.family_id, now=now, token=successor)
            return user, successor
        return RefreshRefused()

    def _signed_in(self, user: User, refresh_token: str) -> SignedIn:
        principal = Principal(user_id=user.id, username=user.username, role=user.role)
        access_token = issue_token(
            principal,
            secret=self.settings.jwt_secret,
            issuer=self.settings.jwt_issuer,
            ttl=timedelta(seconds=self.settings.access_token_ttl_seconds),
        )
        return SignedIn(user=user, access_token=access_token, refresh_token=refresh_token)
