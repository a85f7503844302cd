"""Password hashing with bcrypt, always off the event loop.

bcrypt reads at most 72 bytes (bcrypt >= 5 refuses longer input), and a
128-character password can be 512 bytes of UTF-8. So the password is first
reduced to a base64 SHA-256 digest (44 bytes, no NUL) and that is what bcrypt
hashes: every character counts and no length is refused.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets

import bcrypt


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


def hash_password(password: str, *, rounds: int) -> str:
    """The bcrypt hash (cost ``rounds``) of ``password``; CPU-bound, call it in a thread."""
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode()


def password_matches(password: str, hashed: str) -> bool:
    """Whether ``password`` is the one ``hashed`` was made from; CPU-bound, call it in a thread."""
    try:
        return bcrypt.checkpw(_prehash(password), hashed.encode())
    except ValueError:  # a malformed stored hash matches nothing
        return False


class PasswordHasher:
    """Hashes and checks passwords in worker threads at the configured bcrypt cost."""

    def __init__(self, *, rounds: int) -> None:
        self.rounds = rounds
        self._dummy_hash: str | None = None

    async def prepare(self) -> None:
        """Make the hash checked for unknown users (at the same cost, so it takes as long)."""
        await self._dummy()

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(hash_password, password, rounds=self.rounds)

    async def verify(self, password: str, hashed: str | None) -> bool:
        """Check ``password``; with ``hashed=None`` (no such user) spend the same time, fail."""
        if hashed is None:
            await asyncio.to_thread(password_matches, password, await self._dummy())
            return False
        return await asyncio.to_thread(password_matches, password, hashed)
