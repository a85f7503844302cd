"""The admin account made at start, settings from the environment, production refusals."""

from __future__ import annotations

import jwt
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from shopmesh.auth.main import create_app
from shopmesh.auth.repository import UserAccount
from shopmesh.auth.settings import Settings

from .support import JWT_SECRET, STRONG_SECRET, running


async def test_the_admin_account_exists_at_start_and_can_log_in(sqlite_url: str) -> None:
    async with running(sqlite_url) as auth:
        response = await auth.login("admin", "admin12345")
        events = await auth.user_events()

    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    claims = jwt.decode(
        response.json()["token"], JWT_SECRET, algorithms=["HS256"], issuer="shopmesh-auth"
    )
    assert claims["role"] == "admin"
    assert [(p["username"], p["role"], p["producer"]) for _, p in events] == [
        ("admin", "admin", "auth")
    ]


async def test_restarting_on_the_same_database_keeps_one_admin(sqlite_url: str) -> None:
    for _ in range(3):
        async with running(sqlite_url) as auth:
            users = await auth.rows(select(UserAccount.username, UserAccount.role))
            events = await auth.user_events()
            login = await auth.login("admin", "admin12345")

        assert users == [("admin", "admin")]
        assert len(events) == 1
        assert login.status_code == 200


async def test_admin_name_and_password_come_from_the_shopmesh_settings(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPMESH_ADMIN_USERNAME", "Root.Admin")
    monkeypatch.setenv("SHOPMESH_ADMIN_PASSWORD", "a-long-admin-password")

    async with running(sqlite_url) as auth:
        assert (await auth.login("admin", "admin12345")).status_code == 401
        response = await auth.login("root.admin", "a-long-admin-password")

    assert response.status_code == 200
    assert (response.json()["username"], response.json()["role"]) == ("Root.Admin", "admin")


async def test_a_registered_user_cannot_take_the_admin_name(sqlite_url: str) -> None:
    async with running(sqlite_url) as auth:
        response = await auth.register("ADMIN", "password-123")

    assert response.status_code == 409


def test_service_settings_come_from_auth_prefixed_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTH_BCRYPT_ROUNDS", "5")
    monkeypatch.setenv("AUTH_ACCESS_TOKEN_TTL_SECONDS", "600")
    monkeypatch.setenv("AUTH_REFRESH_TOKEN_TTL_SECONDS", "7200")

    settings = Settings()

    assert settings.bcrypt_rounds == 5
    assert settings.access_token_ttl_seconds == 600
    assert settings.refresh_token_ttl_seconds == 7200
    assert (settings.service_name, settings.port) == ("auth", 8081)


def test_defaults_are_cost_10_a_day_and_two_weeks(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AUTH_BCRYPT_ROUNDS",
        "AUTH_ACCESS_TOKEN_TTL_SECONDS",
        "AUTH_REFRESH_TOKEN_TTL_SECONDS",
        "SHOPMESH_ENV",
    ):
        monkeypatch.delenv(name, raising=False)

    settings = Settings()

    assert settings.bcrypt_rounds == 10
    assert settings.access_token_ttl_seconds == 24 * 3600
    assert settings.refresh_token_ttl_seconds == 14 * 24 * 3600


async def test_access_token_lifetime_follows_the_setting(sqlite_url: str, username: str) -> None:
    async with running(sqlite_url, access_token_ttl_seconds=600) as auth:
        token = (await auth.register(username)).json()["token"]

    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], issuer="shopmesh-auth")
    assert claims["exp"] - claims["iat"] == 600


@pytest.mark.parametrize("rounds", [3, 32])
def test_bcrypt_cost_outside_what_bcrypt_accepts_is_refused(rounds: int) -> None:
    with pytest.raises(ValidationError, match="bcrypt_rounds"):
        Settings(bcrypt_rounds=rounds)


@pytest.mark.parametrize("name", ["ad", "has space", "x" * 51])
def test_an_admin_username_that_breaks_the_rules_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="admin_username"):
        Settings(admin_username=name)


def test_production_refuses_the_placeholder_admin_password() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(environment="production", jwt_secret=STRONG_SECRET)

    message = str(refused.value)
    assert "SHOPMESH_ADMIN_PASSWORD" in message
    assert "SHOPMESH_JWT_SECRET" not in message
    assert "admin12345" not in message
    assert STRONG_SECRET not in message


def test_production_refuses_the_placeholder_jwt_secret() -> None:
    strong_password = "an-admin-password-long-enough-0123456789"
    with pytest.raises(ValidationError) as refused:
        Settings(environment="production", admin_password=strong_password)

    message = str(refused.value)
    assert "SHOPMESH_JWT_SECRET" in message
    assert "SHOPMESH_ADMIN_PASSWORD" not in message
    assert strong_password not in message


def test_production_start_fails_with_placeholder_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPMESH_ENV", "production")
    monkeypatch.setenv("SHOPMESH_JWT_SECRET", STRONG_SECRET)
    monkeypatch.delenv("SHOPMESH_ADMIN_PASSWORD", raising=False)

    with pytest.raises(ValidationError, match="SHOPMESH_ADMIN_PASSWORD"):
        create_app()


def test_production_accepts_real_secrets() -> None:
    settings = Settings(environment="production", jwt_secret=STRONG_SECRET, admin_password="s" * 32)

    assert settings.is_production
