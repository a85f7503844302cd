"""GET /api/auth/me: the caller's account, and every way a token is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from .support import Auth


async def _signed_up(auth: Auth, username: str) -> dict[str, object]:
    response = await auth.register(username)
    assert response.status_code == 201
    body: dict[str, object] = response.json()
    return body


@pytest.mark.parametrize("scheme", ["Bearer ", "bearer ", ""], ids=["bearer", "lower", "bare"])
async def test_me_returns_the_caller_for_a_bearer_or_bare_token(
    auth: Auth, username: str, scheme: str
) -> None:
    user = await _signed_up(auth, username)

    response = await auth.me(f"{scheme}{user['token']}")

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"id", "username", "role", "created_at"}
    assert (body["id"], body["username"], body["role"]) == (user["id"], username, "user")
    created_at = datetime.fromisoformat(body["created_at"])
    assert created_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - created_at) < timedelta(minutes=1)


async def test_me_without_a_token_is_401(auth: Auth) -> None:
    response = await auth.me(None)

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("Bearer", "invalid_token"),
        ("Bearer not-a-jwt", "invalid_token"),
        ("Basic dXNlcjpwYXNz", "unauthorized"),
        ("a.b.c", "invalid_token"),
        ("Bearer  ", "invalid_token"),
    ],
)
async def test_me_with_a_malformed_token_is_401(auth: Auth, authorization: str, code: str) -> None:
    response = await auth.me(authorization)

    assert response.status_code == 401
    assert response.json()["code"] == code


async def test_me_with_an_expired_token_is_401(auth: Auth, username: str) -> None:
    user = await _signed_up(auth, username)
    issued = datetime.now(UTC) - timedelta(hours=2)
    token = auth.token_for(int(str(user["id"])), username, ttl=timedelta(hours=1), now=issued)

    response = await auth.me(f"Bearer {token}")

    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


async def test_me_with_a_tampered_token_is_401(auth: Auth, username: str) -> None:
    user = await _signed_up(auth, username)
    header, payload, signature = str(user["token"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    response = await auth.me(f"Bearer {header}.{forged}.{signature}")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


async def test_me_with_a_token_signed_by_another_key_or_issuer_is_401(
    auth: Auth, username: str
) -> None:
    user_id = int(str((await _signed_up(auth, username))["id"]))
    other_key = auth.token_for(user_id, username, secret="x" * 40)
    other_issuer = auth.token_for(user_id, username, issuer="someone-else")

    for token in (other_key, other_issuer):
        response = await auth.me(f"Bearer {token}")
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_token"


async def test_me_for_a_valid_token_of_an_unknown_user_is_401(auth: Auth) -> None:
    response = await auth.me(f"Bearer {auth.token_for(987654, 'ghost')}")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
