"""Pure rules: refresh-token states, username keys, password hashing, the event's shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shopmesh.auth.domain import (
    RefreshState,
    RefreshToken,
    User,
    UserRegistered,
    hash_token,
    new_token,
    successor_token,
    username_key,
)
from shopmesh.auth.passwords import PasswordHasher, hash_password, password_matches

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _token(**overrides: object) -> RefreshToken:
    values: dict[str, object] = {
        "id": 1,
        "user_id": 7,
        "family_id": "f",
        "expires_at": NOW + timedelta(days=1),
    }
    return RefreshToken(**(values | overrides))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "state"),
    [
        ({}, RefreshState.VALID),
        ({"expires_at": NOW}, RefreshState.EXPIRED),
        ({"used_at": NOW}, RefreshState.REUSED),
        ({"revoked_at": NOW}, RefreshState.REVOKED),
        ({"used_at": NOW, "revoked_at": NOW}, RefreshState.REVOKED),
        ({"used_at": NOW, "expires_at": NOW - timedelta(days=1)}, RefreshState.REUSED),
    ],
)
def test_refresh_token_state(overrides: dict[str, object], state: RefreshState) -> None:
    assert _token(**overrides).state(NOW) is state


@pytest.mark.parametrize(
    ("used_ago", "state"),
    [
        (timedelta(0), RefreshState.ROTATED),
        (timedelta(seconds=9.9), RefreshState.ROTATED),
        (timedelta(seconds=10), RefreshState.REUSED),
        (timedelta(hours=1), RefreshState.REUSED),
    ],
)
def test_a_used_token_counts_as_rotated_only_within_the_grace_window(
    used_ago: timedelta, state: RefreshState
) -> None:
    token = _token(used_at=NOW - used_ago)
    assert token.state(NOW, grace=timedelta(seconds=10)) is state
    assert (
        _token(used_at=NOW - used_ago, revoked_at=NOW).state(NOW, grace=timedelta(seconds=10))
        is RefreshState.REVOKED
    )


def test_successor_tokens_are_secret_derived_and_shaped_like_random_ones() -> None:
    token = new_token()

    successor = successor_token(token, key="k" * 32)

    assert successor == successor_token(token, key="k" * 32)
    assert successor != successor_token(token, key="other-key-" * 4)
    assert successor != successor_token(token + "x", key="k" * 32)
    assert successor != token
    assert len(successor) == len(token) == 43
    assert successor.replace("-", "").replace("_", "").isalnum()


def test_username_key_ignores_case() -> None:
    assert username_key("Alice.B-c_1") == username_key("aLICE.b-C_1") == "alice.b-c_1"


def test_refresh_tokens_are_random_and_hashed_with_sha256() -> None:
    tokens = {new_token() for _ in range(100)}

    assert len(tokens) == 100
    token = tokens.pop()
    assert len(token) >= 43
    assert hash_token(token) == hash_token(token)
    assert len(hash_token(token)) == 64
    assert hash_token(token) != hash_token(token + "x")


def test_user_registered_carries_the_account_and_is_keyed_by_user_id() -> None:
    user = User(id=42, username="Alice", role="user", created_at=NOW)

    event = UserRegistered.of(user)

    assert event.key() == "42"
    assert UserRegistered.topic == "user-events"
    payload = event.model_dump(mode="json")
    assert payload["event_type"] == "user.registered"
    assert payload["producer"] == "auth"
    assert (payload["user_id"], payload["username"], payload["role"]) == (42, "Alice", "user")
    assert payload["registered_at"] == payload["occurred_at"] == "2025-01-01T12:00:00Z"
    assert "password" not in str(payload)


def test_password_hash_uses_the_given_cost_and_verifies() -> None:
    hashed = hash_password("s3cret-password", rounds=4)

    assert hashed.startswith("$2b$04$")
    assert password_matches("s3cret-password", hashed)
    assert not password_matches("s3cret-passwore", hashed)
    assert not password_matches("s3cret-password", "not-a-bcrypt-hash")


def test_long_and_unicode_passwords_are_hashed_whole() -> None:
    # 128 characters of 4-byte UTF-8: 512 bytes, far past bcrypt's own 72-byte limit.
    password = "\U0001f512" * 127 + "a"
    hashed = hash_password(password, rounds=4)

    assert password_matches(password, hashed)
    assert not password_matches("\U0001f512" * 127 + "b", hashed)


async def test_hasher_fails_unknown_users_after_a_check_at_the_same_cost() -> None:
    hasher = PasswordHasher(rounds=4)
    hashed = await hasher.hash("s3cret-password")

    assert await hasher.verify("s3cret-password", hashed)
    assert not await hasher.verify("s3cret-password", None)
    assert not await hasher.verify("wrong-password", hashed)
