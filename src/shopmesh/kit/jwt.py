"""JWT issue and verification (HS256), shared by auth, the gateway and every service."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt as pyjwt

from shopmesh.kit.clock import utcnow
from shopmesh.kit.errors import Unauthorized

ALGORITHM = "HS256"
SERVICE_ROLE = "service"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's subject."""

    user_id: int
    username: str
    role: str = "user"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_service(self) -> bool:
        """A platform service calling another (never a person)."""
        return self.role == SERVICE_ROLE


def issue_token(
    principal: Principal,
    *,
    secret: str,
    issuer: str,
    ttl: timedelta,
    now: datetime | None = None,
) -> str:
    """Sign an access token for ``principal``."""
    issued = now or utcnow()
    claims = {
        "sub": str(principal.user_id),
        "username": principal.username,
        "role": principal.role,
        "iat": int(issued.timestamp()),
        "nbf": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
        "iss": issuer,
    }
    return pyjwt.encode(claims, secret, algorithm=ALGORITHM)


# How many verified tokens the gateway and each service remember (until their exp).
CACHED_TOKENS = 10_000


class TokenVerifier:
    """Checks signature, expiry, not-before and issuer; nothing else is trusted.

    With ``cache_size``, the principals of up to that many verified tokens are
    kept until the token's ``exp``: a full HS256 check costs tens of µs, a
    visible share of a small request, and clients send the same token again and
    again. A token is a byte-exact string, so any other string (a tampered
    token) misses the cache and is checked in full; an expired one is dropped
    and checked in full, which refuses it.
    """

    def __init__(
        self,
        *,
        secret: str,
        issuer: str,
        leeway: float = 5.0,
        cache_size: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._issuer = issuer
        self._leeway = leeway
        self._cache_size = cache_size
        self._clock = clock
        self._verified: dict[str | bytes, tuple[Principal, float]] = {}

    def verify(self, token: str) -> Principal:
        """Return the token's principal or raise :class:`Unauthorized`."""
        return self._checked(token, token)

    def _checked(self, key: str | bytes, token: str) -> Principal:
        """``token``'s principal, remembered under ``key`` (the token, or a header's value)."""
        cached = self._verified.get(key)
        if cached is not None:
            if self._clock() < cached[1]:
                return cached[0]
            del self._verified[key]
        principal, expires_at = self._verify(token)
        if self._cache_size > 0:
            if len(self._verified) >= self._cache_size:
                # Oldest first (dicts keep insertion order): cheap, and enough for a cache.
                del self._verified[next(iter(self._verified))]
            self._verified[key] = (principal, expires_at)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            claims: dict[str, Any] = pyjwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["sub", "exp", "iat", "iss"]},
            )
        except pyjwt.ExpiredSignatureError:
            raise Unauthorized("token expired", code="token_expired") from None
        except pyjwt.PyJWTError:
            raise Unauthorized("invalid token", code="invalid_token") from None
        try:
            user_id = int(claims["sub"])
            expires_at = float(claims["exp"])
        except (TypeError, ValueError):
            raise Unauthorized("invalid token", code="invalid_token") from None
        principal = Principal(
            user_id=user_id,
            username=str(claims.get("username", "")),
            role=str(claims.get("role", "user")),
        )
        return principal, expires_at

    def verify_header(self, authorization: str | bytes | None) -> Principal:
        """Accept ``Bearer <jwt>`` and, as the commerce seed's clients send it, a bare ``<jwt>``.

        A header value given as received (bytes: the gateway's) is remembered
        under that exact value, so the same header again costs one lookup.
        """
        if not isinstance(authorization, bytes):
            token = bearer_token(authorization)
            if token is None:
                raise Unauthorized()
            return self._checked(token, token)
        cached = self._verified.get(authorization)
        if cached is not None and self._clock() < cached[1]:
            return cached[0]
        token = bearer_token(authorization.decode("latin-1"))
        if token is None:
            raise Unauthorized()
        return self._checked(authorization, token)


def bearer_token(authorization: str | None) -> str | None:
    """The token inside an ``Authorization`` header value, or ``None``."""
    if not authorization:
        return None
    value = authorization.strip()
    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() == "bearer":
        value = rest.strip()
    elif rest:
        return None
    return value or None
