"""The auth use cases on a unit of work in memory: accounts and their event, sign-in (by
username or email), the refresh sessions (rotation, reuse ends the session, logout) and
password recovery."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from shopmesh.auth.domain import (
    EmailTaken,
    InvalidCredentials,
    InvalidResetToken,
    NewProfile,
    RefreshRefused,
    RefreshReused,
    UsernameTaken,
    hash_token,
)
from shopmesh.auth.mailer import Mail
from shopmesh.auth.passwords import PasswordHasher
from shopmesh.auth.recovery import PasswordRecovery
from shopmesh.auth.repository import RefreshTokens, ResetTokens, Users
from shopmesh.auth.service import AuthService
from shopmesh.kit.clock import utcnow
from shopmesh.kit.errors import Unauthorized
from shopmesh.kit.jwt import Principal, TokenVerifier
from tests.fakes import assert_same_interface, units_of
from tests.support import ISSUER, SECRET

from .fakes import AuthStore, FakeAuthUnitOfWork, FakeRefreshTokens, FakeResetTokens, FakeUsers
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
    assert_same_interface(FakeResetTokens, ResetTokens)


async def test_registering_signs_in_and_announces_the_account(
    auth: AuthService, store: AuthStore
) -> None:
    signed_in = await auth.register("Alice", PASSWORD)
    assert (signed_in.user.username, signed_in.user.role) == ("Alice", "user")
    principal = TokenVerifier(secret=SECRET, issuer=ISSUER).verify(signed_in.access_token)
    assert (principal.user_id, principal.username) == (signed_in.user.id, "Alice")
    assert hash_token(signed_in.refresh_token) in store.tokens
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
    old, new = (store.tokens[hash_token(t.refresh_token)] for t in (first, second))
    assert old.used_at is not None
    assert (new.family_id, new.used_at) == (old.family_id, None)


def _exchanged_ago(store: AuthStore, refresh_token: str, seconds: float) -> None:
    """Move the moment ``refresh_token`` was exchanged ``seconds`` into the past."""
    token_hash = hash_token(refresh_token)
    found = store.tokens[token_hash]
    assert found.used_at is not None, "the token was not exchanged"
    store.tokens[token_hash] = replace(found, used_at=found.used_at - timedelta(seconds=seconds))


async def test_a_token_reused_after_the_grace_window_ends_its_whole_session_for_good(
    auth: AuthService, store: AuthStore
) -> None:
    first = await auth.register("alice", PASSWORD)
    second = await auth.refresh(first.refresh_token)
    other_session = await auth.login("alice", PASSWORD)
    _exchanged_ago(store, first.refresh_token, auth.settings.refresh_reuse_grace_seconds)
    with pytest.raises(RefreshReused):
        await auth.refresh(first.refresh_token)
    with pytest.raises(RefreshRefused):
        await auth.refresh(second.refresh_token)  # revoked with its session, and committed
    assert (await auth.refresh(other_session.refresh_token)).user == first.user


async def test_a_token_exchanged_again_within_the_grace_window_gets_the_same_successor(
    auth: AuthService, store: AuthStore
) -> None:
    first = await auth.register("alice", PASSWORD)
    second = await auth.refresh(first.refresh_token)
    again = await auth.refresh(first.refresh_token)  # another tab, a moment later
    assert again.refresh_token == second.refresh_token
    third = await auth.refresh(second.refresh_token)
    # Followed along the chain to the current link; nothing new is stored for a repeat.
    assert (await auth.refresh(first.refresh_token)).refresh_token == third.refresh_token
    assert len(store.tokens) == 3
    assert all(t.revoked_at is None for t in store.tokens.values())


@pytest.mark.parametrize("token", [None, "", "unknown-token"])
async def test_a_missing_or_unknown_refresh_token_is_refused(
    auth: AuthService, token: str | None
) -> None:
    with pytest.raises(RefreshRefused) as refused:
        await auth.refresh(token)
    assert not isinstance(refused.value, RefreshReused)


async def test_an_expired_refresh_token_is_refused(auth: AuthService, store: AuthStore) -> None:
    signed_in = await auth.register("alice", PASSWORD)
    token_hash = hash_token(signed_in.refresh_token)
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


async def test_an_email_account_gets_a_username_made_from_it_and_announces_its_profile(
    auth: AuthService, store: AuthStore
) -> None:
    profile = NewProfile(name="Ann Lee", city="Pune", interests=["tea"])
    signed_in = await auth.register(None, PASSWORD, email="Ann.Lee@Example.org", profile=profile)
    assert (signed_in.user.username, signed_in.user.email) == ("Ann.Lee", "Ann.Lee@Example.org")
    [event] = store.events("user.registered")
    assert (event.email, event.name, event.city, event.interests) == (
        "Ann.Lee@Example.org",
        "Ann Lee",
        "Pune",
        ["tea"],
    )
    assert (await auth.login("ann.lee@example.org", PASSWORD)).user == signed_in.user


async def test_a_username_made_from_an_email_never_takes_anothers(auth: AuthService) -> None:
    await auth.register("ann", PASSWORD)
    signed_in = await auth.register(None, PASSWORD, email="ann@example.org")
    assert signed_in.user.username.startswith("ann-")
    assert len(signed_in.user.username) == len("ann-") + 6


async def test_an_email_in_use_in_any_case_is_refused_and_announced_once(
    auth: AuthService, store: AuthStore
) -> None:
    await auth.register(None, PASSWORD, email="ann@example.org")
    with pytest.raises(EmailTaken):
        await auth.register("someone", PASSWORD, email="ANN@example.org")
    assert len(store.events("user.registered")) == 1


async def test_registering_needs_a_username_or_an_email(auth: AuthService) -> None:
    with pytest.raises(ValueError, match="username or an email"):
        await auth.register(None, PASSWORD)


class SentMail:
    """The mailer's place in the use case: what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[Mail] = []

    def send_later(self, mail: Mail) -> None:
        self.sent.append(mail)


@pytest.fixture
def mail() -> SentMail:
    return SentMail()


@pytest.fixture
def recovery(store: AuthStore, mail: SentMail) -> PasswordRecovery:
    settings = make_settings("sqlite+aiosqlite://", reset_requests_per_hour=2)
    units = units_of(FakeAuthUnitOfWork, store)
    return PasswordRecovery(
        units,
        settings,
        passwords=PasswordHasher(rounds=4),
        mailer=mail,  # type: ignore[arg-type]  # the one method used
    )


def _mailed_token(mail: Mail) -> str:
    [link] = [line for line in mail.text.splitlines() if "token=" in line]
    return parse_qs(urlsplit(link).query)["token"][0]


async def test_a_reset_link_goes_only_to_an_address_with_an_account_a_few_times_an_hour(
    auth: AuthService, recovery: PasswordRecovery, mail: SentMail, store: AuthStore
) -> None:
    await recovery.request_reset("nobody@example.org")
    assert mail.sent == []
    await auth.register(None, PASSWORD, email="ann@example.org")
    for _ in range(3):
        await recovery.request_reset("ANN@example.org")
    assert [m.to for m in mail.sent] == ["ann@example.org"] * 2
    assert len(store.resets) == 2
    assert hash_token(_mailed_token(mail.sent[0])) in store.resets


async def test_a_reset_sets_the_password_once_and_ends_every_session(
    auth: AuthService, recovery: PasswordRecovery, mail: SentMail
) -> None:
    signed_in = await auth.register(None, PASSWORD, email="ann@example.org")
    await recovery.request_reset("ann@example.org")
    await recovery.request_reset("ann@example.org")
    first, second = (_mailed_token(m) for m in mail.sent)
    await recovery.reset(first, "a-new-password-1")
    assert (await auth.login("ann@example.org", "a-new-password-1")).user == signed_in.user
    with pytest.raises(InvalidCredentials):
        await auth.login("ann@example.org", PASSWORD)
    with pytest.raises(RefreshRefused):
        await auth.refresh(signed_in.refresh_token)
    for spent in (first, second, "unknown-token"):  # the other open link is spent too
        with pytest.raises(InvalidResetToken):
            await recovery.reset(spent, "another-password-2")


async def test_an_expired_reset_token_is_refused(
    auth: AuthService, recovery: PasswordRecovery, mail: SentMail, store: AuthStore
) -> None:
    await auth.register(None, PASSWORD, email="ann@example.org")
    await recovery.request_reset("ann@example.org")
    token = _mailed_token(mail.sent[0])
    reset, sent = store.resets[hash_token(token)]
    store.resets[hash_token(token)] = (replace(reset, expires_at=utcnow()), sent)
    with pytest.raises(InvalidResetToken):
        await recovery.reset(token, "a-new-password-1")
