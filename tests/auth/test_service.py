"""The auth use cases on a unit of work in memory: accounts and their event, sign-in, and the
refresh sessions (rotation, reuse ends the session, logout)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from shopmesh.auth.domain import (
    InvalidCredentials,
    RefreshRefused,
    RefreshReused,
    UsernameTaken,
    hash_refresh_token,
)
from shopmesh.auth.passwords import PasswordHasher
from shopmesh.auth.repository import RefreshTokens, Users
from shopmesh.auth.service import AuthService
from shopmesh.kit.clock import utcnow
from shopmesh.kit.errors import Unauthorized
from shopmesh.kit.jwt import Principal, TokenVerifier
from tests.fakes import assert_same_interface, units_of
from tests.support import ISSUER, SECRET

from .fakes import AuthStore, FakeAuthUnitOfWork, FakeRefreshTokens, FakeUsers
from .support import PASSWORD, make_settings


@pytest.fixture
def store() -> AuthStore:
    return AuthStore()


@pytest.fixture
def auth(store: AuthStore) -> AuthService:
    settings = make_settings("sqlite+aiosqlite://", admin_username="root")
    return AuthService(
        units_of(FakeAuthUnitOfWork, store), settings, passwords=PasswordHasher(rounds=4)
    )


def test_the_fakes_keep_the_repositories_interfaces() -> None:
    assert_same_interface(FakeUsers, Users)
    assert_same_interface(FakeRefreshTokens, RefreshTokens)


async def test_registering_signs_in_and_announces_the_account(
    auth: AuthService, store: AuthStore
) -> None:
    signed_in = await auth.register("Alice", PASSWORD)
    assert (signed_in.user.username, signed_in.user.role) == ("Alice", "user")
    principal = TokenVerifier(secret=SECRET, issuer=ISSUER).verify(signed_in.access_token)
    assert (principal.user_id, principal.username) == (signed_in.user.id, "Alice")
    assert hash_refresh_token(signed_in.refresh_token) in store.tokens
    [event] = store.events("user.registered")
    assert (event.user_id, event.username, event.role) == (signed_in.user.id, "Alice", "user")


async def test_a_name_taken_in_any_case_is_refused_and_announced_once(
    auth: AuthService, store: AuthStore
) -> None:
    await auth.register("alice", PASSWORD)
    with pytest.raises(UsernameTaken):
        await auth.register("ALICE", PASSWORD)
    assert len(store.events("user.registered")) == 1
    assert len(store.tokens) == 1


async def test_sign_in_ignores_case_and_refuses_unknown_users_and_wrong_passwords_alike(
    auth: AuthService,
) -> None:
    registered = await auth.register("Alice", PASSWORD)
    assert (await auth.login("aLiCe", PASSWORD)).user == registered.user
    with pytest.raises(InvalidCredentials) as wrong:
        await auth.login("alice", PASSWORD + "x")
    with pytest.raises(InvalidCredentials) as unknown:
        await auth.login("nobody", PASSWORD)
    assert wrong.value.message == unknown.value.message


async def test_the_current_user_must_still_exist(auth: AuthService) -> None:
    signed_in = await auth.register("alice", PASSWORD)
    me = await auth.current_user(Principal(signed_in.user.id, "alice"))
    assert me == signed_in.user
    with pytest.raises(Unauthorized):
        await auth.current_user(Principal(signed_in.user.id + 1, "ghost"))


async def test_a_refresh_rotates_the_token_within_its_session(
    auth: AuthService, store: AuthStore
) -> None:
    first = await auth.register("alice", PASSWORD)
    second = await auth.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.user == first.user
    old, new = (store.tokens[hash_refresh_token(t.refresh_token)] for t in (first, second))
    assert old.used_at is not None
    assert (new.family_id, new.used_at) == (old.family_id, None)


async def test_a_reused_token_ends_its_whole_session_and_the_end_is_kept(
    auth: AuthService, store: AuthStore
) -> None:
    first = await auth.register("alice", PASSWORD)
    second = await auth.refresh(first.refresh_token)
    other_session = await auth.login("alice", PASSWORD)
    with pytest.raises(RefreshReused):
        await auth.refresh(first.refresh_token)
    with pytest.raises(RefreshRefused):
        await auth.refresh(second.refresh_token)  # revoked with its session, and committed
    assert (await auth.refresh(other_session.refresh_token)).user == first.user


@pytest.mark.parametrize("token", [None, "", "unknown-token"])
async def test_a_missing_or_unknown_refresh_token_is_refused(
    auth: AuthService, token: str | None
) -> None:
    with pytest.raises(RefreshRefused) as refused:
        await auth.refresh(token)
    assert not isinstance(refused.value, RefreshReused)


async def test_an_expired_refresh_token_is_refused(auth: AuthService, store: AuthStore) -> None:
    signed_in = await auth.register("alice", PASSWORD)
    token_hash = hash_refresh_token(signed_in.refresh_token)
    store.tokens[token_hash] = replace(
        store.tokens[token_hash], expires_at=utcnow() - timedelta(seconds=1)
    )
    with pytest.raises(RefreshRefused):
        await auth.refresh(signed_in.refresh_token)


async def test_logout_ends_the_session_and_is_harmless_without_one(auth: AuthService) -> None:
    signed_in = await auth.register("alice", PASSWORD)
    await auth.logout(None)
    await auth.logout("unknown-token")
    await auth.logout(signed_in.refresh_token)
    with pytest.raises(RefreshRefused):
        await auth.refresh(signed_in.refresh_token)


async def test_the_admin_account_is_made_once_and_never_taken_over(
    auth: AuthService, store: AuthStore
) -> None:
    await auth.ensure_admin()
    await auth.ensure_admin()
    [(admin, _)] = store.users.values()
    assert (admin.username, admin.role) == ("root", "admin")
    assert len(store.events("user.registered")) == 1


async def test_a_user_holding_the_admin_name_keeps_it_as_a_user(
    auth: AuthService, store: AuthStore
) -> None:
    await auth.register("root", PASSWORD)
    await auth.ensure_admin()
    [(user, _)] = store.users.values()
    assert user.role == "user"
