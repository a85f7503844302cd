"""JWT issue and verification (HS256), shared by auth, the gateway and every service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt as pyjwt

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
    issued = now or datetime.now(UTC)
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


class TokenVerifier:
    """Checks signature, expiry, not-before and issuer; nothing else is trusted."""

    def __init__(self, *, secret: str, issuer: str, leeway: float = 5.0) -> None:
        self._secret = secret
        self._issuer = issuer
        self._leeway = leeway

    def verify(self, token: str) -> Principal:
        """Return the token's principal or raise :class:`Unauthorized`."""
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
        except (TypeError, ValueError):
            raise Unauthorized("invalid token", code="invalid_token") from None
        return Principal(
            user_id=user_id,
            username=str(claims.get("username", "")),
            role=str(claims.get("role", "user")),
        )

    def verify_header(self, authorization: str | None) -> Principal:
        """Accept ``Bearer <jwt>`` and, as the commerce seed's clients send it, a bare ``<jwt>``."""
        token = bearer_token(authorization)
        if token is None:
            raise Unauthorized()
        return self.verify(token)


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
