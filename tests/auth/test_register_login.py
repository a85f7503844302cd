"""Register and login through the API (SQLite): success, refusals, and what gets written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from uuid import UUID

import jwt
import pytest

from shopmesh.auth import passwords
from tests.support import shared_sqlite_url

from .support import JWT_SECRET, PASSWORD, Auth, running

BAD_BODIES: list[tuple[str, Any]] = [
    ("missing username", {"password": PASSWORD}),
    ("missing password", {"username": "valid_name"}),
    ("empty object", {}),
    ("username not a string", {"username": 12345, "password": PASSWORD}),
    ("password not a string", {"username": "valid_name", "password": 12345678}),
    ("password null", {"username": "valid_name", "password": None}),
    ("username a list", {"username": ["valid_name"], "password": PASSWORD}),
    ("username too short", {"username": "ab", "password": PASSWORD}),
    ("username too long", {"username": "a" * 51, "password": PASSWORD}),
    ("username with a space", {"username": "bad name", "password": PASSWORD}),
    ("username with a slash", {"username": "bad/name", "password": PASSWORD}),
    ("username with an @", {"username": "bad@name", "password": PASSWORD}),
    ("username not ascii", {"username": "jos\u00e9_x", "password": PASSWORD}),
    ("username with a newline", {"username": "valid_name\n", "password": PASSWORD}),
    ("password too short", {"username": "valid_name", "password": "1234567"}),
    ("password too long", {"username": "valid_name", "password": "p" * 129}),
    ("body is a list", [{"username": "valid_name", "password": PASSWORD}]),
    ("body is a string", "valid_name"),
]


async def test_register_answers_201_with_id_username_role_and_a_signed_token(
    auth: Auth, username: str
) -> None:
    response = await auth.register(username)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "username", "token", "role", "user", "message"}
    assert isinstance(body["id"], int)
    assert body["username"] == username
    assert body["role"] == "user"
    assert body["user"] == {
        "id": body["id"],
        "username": username,
        "name": username,
        "email": None,
        "role": "user",
    }
    assert body["message"] == "User registered successfully"
    claims = jwt.decode(
        body["token"], JWT_SECRET, algorithms=["HS256"], issuer=auth.settings.jwt_issuer
    )
    assert claims["sub"] == str(body["id"])
    assert claims["username"] == username
    assert claims["role"] == "user"
    assert claims["exp"] - claims["iat"] == 24 * 3600


async def test_login_answers_200_with_the_same_account(auth: Auth, username: str) -> None:
    registered = (await auth.register(username)).json()

    response = await auth.login(username)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == registered["id"]
    assert body["username"] == username
    assert (await auth.me(f"Bearer {body['token']}")).json()["id"] == registered["id"]


async def test_login_ignores_case_and_keeps_the_registered_spelling(auth: Auth) -> None:
    registered = (await auth.register("Mixed.Case_User")).json()

    response = await auth.login("mIXED.cASE_uSER")

    assert response.status_code == 200
    assert response.json()["id"] == registered["id"]
    assert response.json()["username"] == "Mixed.Case_User"


@pytest.mark.parametrize("taken_as", ["same", "upper", "lower"])
async def test_registering_a_taken_username_in_any_case_is_409_and_writes_nothing(
    auth: Auth, username: str, taken_as: str
) -> None:
    await auth.register(username)
    before = await auth.counts()
    again = {"same": username, "upper": username.upper(), "lower": username.lower()}[taken_as]

    response = await auth.register(again, "another-password")

    assert response.status_code == 409
    assert response.json()["code"] == "username_taken"
    assert response.json()["error"] == "username is already taken"
    assert await auth.counts() == before
    assert (await auth.login(username)).status_code == 200  # the first account is untouched


@pytest.fixture(scope="module")
async def refusing(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Auth]:
    """One app for the module's bodies that are refused: each test proves with the counts
    before and after that its request wrote nothing."""
    url, mail = shared_sqlite_url(tmp_path_factory, "auth"), tmp_path_factory.mktemp("mail")
    async with running(url, data_dir=mail) as service:
        yield service


@pytest.mark.parametrize(("case", "body"), BAD_BODIES, ids=[case for case, _ in BAD_BODIES])
@pytest.mark.parametrize("path", ["/api/auth/register", "/api/auth/login"])
async def test_bad_input_is_a_422_validation_error_and_writes_nothing(
    refusing: Auth, path: str, case: str, body: Any
) -> None:
    before = await refusing.counts()

    response = await refusing.client.post(path, json=body)

    assert response.status_code == 422, (case, response.text)
    assert response.json()["code"] == "validation_error"
    assert response.json()["details"]
    assert await refusing.counts() == before


@pytest.mark.parametrize("path", ["/api/auth/register", "/api/auth/login"])
@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b'{"username": "valid_name", "password": ', "application/json", 400, "invalid_json"),
        (b"not json at all", "application/json", 400, "invalid_json"),
        (b"", "application/json", 422, "validation_error"),  # no body: it is missing
        (
            b"username=valid_name&password=secret-123",
            "application/x-www-form-urlencoded",
            422,
            "validation_error",
        ),
    ],
)
async def test_a_body_that_is_not_json_is_a_4xx_json_error_and_writes_nothing(
    refusing: Auth, path: str, content: bytes, content_type: str, status: int, code: str
) -> None:
    before = await refusing.counts()

    response = await refusing.client.post(
        path, content=content, headers={"content-type": content_type}
    )

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.headers["content-type"] == "application/json"
    assert {"error", "code", "request_id"} <= set(response.json())
    assert await refusing.counts() == before


async def test_boundary_lengths_are_accepted(auth: Auth) -> None:
    shortest = await auth.register("abc", "p" * 8)
    longest = await auth.register("z" * 50, "\u00e9" * 128)  # 128 characters, 256 bytes

    assert shortest.status_code == 201
    assert longest.status_code == 201
    assert (await auth.login("abc", "p" * 8)).status_code == 200
    assert (await auth.login("z" * 50, "\u00e9" * 128)).status_code == 200


async def test_every_character_of_a_long_password_counts(auth: Auth, username: str) -> None:
    # bcrypt alone would only read the first 72 bytes of these two passwords.
    password = "x" * 100 + "A"
    await auth.register(username, password)

    assert (await auth.login(username, "x" * 100 + "B")).status_code == 401
    assert (await auth.login(username, password)).status_code == 200


async def test_unknown_user_and_wrong_password_get_the_same_401(auth: Auth, username: str) -> None:
    await auth.register(username)

    wrong_password = await auth.login(username, "not-the-password")
    unknown_user = await auth.login("nobody_" + username, PASSWORD)

    for response in (wrong_password, unknown_user):
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"
        assert response.json()["error"] == "invalid username, email or password"
        assert "set-cookie" not in response.headers
    assert {k: v for k, v in wrong_password.json().items() if k != "request_id"} == {
        k: v for k, v in unknown_user.json().items() if k != "request_id"
    }


async def test_unknown_user_costs_a_bcrypt_check_like_a_wrong_password(
    auth: Auth, username: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await auth.register(username)
    checked: list[str] = []
    original = passwords.password_matches

    def spy(password: str, hashed: str) -> bool:
        checked.append(hashed)
        return original(password, hashed)

    monkeypatch.setattr(passwords, "password_matches", spy)

    await auth.login(username, "not-the-password")
    await auth.login("nobody_" + username, PASSWORD)

    assert len(checked) == 2
    # Both checks are real bcrypt verifications at the configured cost (4 in tests).
    assert all(hashed.startswith("$2b$04$") for hashed in checked)


async def test_register_writes_user_registered_to_the_outbox(auth: Auth, username: str) -> None:
    body = (await auth.register(username)).json()

    events = [(row, p) for row, p in await auth.user_events() if p["username"] == username]

    assert len(events) == 1
    row, payload = events[0]
    assert row.topic == "user-events"
    assert row.key == str(body["id"])
    assert row.published_at is None
    assert payload["event_type"] == "user.registered"
    assert payload["producer"] == "auth"
    assert payload["user_id"] == body["id"]
    assert payload["username"] == username
    assert payload["role"] == "user"
    assert str(UUID(payload["event_id"])) == row.event_id
    registered_at = datetime.fromisoformat(payload["registered_at"])
    assert registered_at.utcoffset() is not None
    assert datetime.fromisoformat(payload["occurred_at"]) == registered_at


async def test_a_refused_registration_writes_no_event(auth: Auth, username: str) -> None:
    await auth.register(username)
    events_before = await auth.user_events()

    assert (await auth.register(username.upper())).status_code == 409
    assert (await auth.register("x", PASSWORD)).status_code == 422

    assert await auth.user_events() == events_before
