"""Password recovery: a reset link by mail, and setting a new password with its token.

The token is 256 random bits, mailed once and stored only as its SHA-256; it
works once, until it expires. Asking for a link answers alike whether or not
the address has an account, and a person gets at most a few links an hour.
A new password ends every refresh session of the account.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

from shopmesh.auth.domain import InvalidResetToken, User, hash_token, new_token
from shopmesh.auth.mailer import Mail, Mailer
from shopmesh.auth.passwords import PasswordHasher
from shopmesh.auth.repository import AuthUnitOfWork
from shopmesh.auth.settings import Settings
from shopmesh.kit.clock import utcnow

log = logging.getLogger(__name__)

# How far back reset links count toward a person's limit (reset_requests_per_hour).
RESET_WINDOW = timedelta(hours=1)


class PasswordRecovery:
    """The forgot-password and reset-password use cases."""

    def __init__(
        self,
        units: Callable[[], AuthUnitOfWork],
        settings: Settings,
        *,
        passwords: PasswordHasher,
        mailer: Mailer,
    ) -> None:
        self._units = units
        self._settings = settings
        self._passwords = passwords
        self._mailer = mailer

    async def request_reset(self, email: str) -> None:
        """Mail a reset link to the account with this email, if there is one (and it has
        not had too many links this hour); nothing tells the caller which happened."""
        now = utcnow()
        async with self._units() as uow:
            user = await uow.users.by_email(email)
            if user is None:
                return
            recent = await uow.reset_tokens.sent_since(user.id, now - RESET_WINDOW)
            if recent >= self._settings.reset_requests_per_hour:
                log.warning("password reset limit reached", extra={"user_id": user.id})
                return
            token = new_token()
            ttl = timedelta(seconds=self._settings.reset_token_ttl_seconds)
            await uow.reset_tokens.add(
                user.id, token_hash=hash_token(token), now=now, expires_at=now + ttl
            )
        self._mailer.send_later(self._reset_mail(user, token, ttl))
        log.info("password reset requested", extra={"user_id": user.id})

    async def reset(self, token: str, password: str) -> None:
        """Set a new password with a reset token; every refresh session of the account ends."""
        password_hash = await self._passwords.hash(password)  # bcrypt outside the transaction
        now = utcnow()
        async with self._units() as uow:
            found = await uow.reset_tokens.find(hash_token(token))
            if found is None or not found.usable(now):
                raise InvalidResetToken()
            await uow.users.set_password(found.user_id, password_hash)
            await uow.reset_tokens.use_all(found.user_id, now=now)
            await uow.refresh_tokens.revoke_user_sessions(found.user_id, now=now)
        log.info("password reset", extra={"user_id": found.user_id})

    def _reset_mail(self, user: User, token: str, ttl: timedelta) -> Mail:
        link = f"{self._settings.reset_url}?{urlencode({'token': token})}"
        minutes = int(ttl.total_seconds() // 60)
        text = (
            f"Hello {user.display_name},\n\n"
            "Someone (we hope you) asked to reset the password of your ShopMesh account "
            f"({user.username}). Choose a new password here:\n\n{link}\n\n"
            f"The link works once, for {minutes} minutes. If you did not ask for it, "
            "ignore this message: your password stays as it is.\n"
        )
        return Mail(to=str(user.email), subject="Reset your ShopMesh password", text=text)
