"""Password reset: a link by mail (an .eml file in development, SMTP when configured), a
single-use expiring token, the same answer for every address, and sessions ended."""

from __future__ import annotations

import email
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from shopmesh.auth.domain import hash_token
from shopmesh.auth.main import retention_rules
from shopmesh.auth.repository import PasswordResetRow
from tests.support import free_port, wait_for

from .support import PASSWORD, Auth, make_settings, refresh_token_of, running

NEW_PASSWORD = "a-brand-new-secret"
FORGOT = "/api/auth/forgot-password"
RESET = "/api/auth/reset-password"


def mails_in(folder: Path) -> list[Message]:
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def token_in(message: Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(r"/reset-password\?token=([A-Za-z0-9_-]+)", body.decode())
    assert found, body
    return found.group(1)


async def registered(auth: Auth, unique: Any) -> tuple[str, Any]:
    address = f"{unique('rita.')}@example.org"
    body = {"email": address, "password": PASSWORD, "name": "Rita"}
    response = await auth.client.post("/api/auth/register", json=body)
    assert response.status_code == 201, response.text
    return address, response


async def mailed_token(auth: Auth, address: str, count: int = 1) -> str:
    folder = auth.settings.mail_dir
    response = await auth.client.post(FORGOT, json={"email": address})
    assert response.status_code == 202, response.text
    messages = await wait_for(
        lambda: _async(mails_in(folder)), until=lambda m: len(m) >= count, what="the reset mail"
    )
    return token_in(messages[-1])


async def _async(value: Any) -> Any:
    return value


async def test_forgot_password_mails_a_link_as_an_eml_file(auth: Auth, unique: Any) -> None:
    address, _ = await registered(auth, unique)

    token = await mailed_token(auth, address)

    [message] = mails_in(auth.settings.mail_dir)
    assert message["To"] == address
    assert message["Subject"] == "Reset your ShopMesh password"
    assert message["From"] == auth.settings.mail_from
    assert "Hello Rita" in str(message.get_payload(decode=True), "utf-8")
    assert len(token) >= 40
    # Only the token's hash is stored.
    stored = await auth.scalar(select(PasswordResetRow.token_hash))
    assert stored == hash_token(token) != token


async def test_every_address_gets_the_same_202_and_only_accounts_get_mail(
    auth: Auth, unique: Any
) -> None:
    address, _ = await registered(auth, unique)

    known = await auth.client.post(FORGOT, json={"email": address.upper()})
    unknown = await auth.client.post(FORGOT, json={"email": f"nobody.{address}"})

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert known.json()["message"]
    await wait_for(lambda: _async(mails_in(auth.settings.mail_dir)), what="one mail")
    assert [m["To"] for m in mails_in(auth.settings.mail_dir)] == [address]


async def test_a_reset_sets_the_password_once_and_ends_every_session(
    auth: Auth, unique: Any
) -> None:
    address, registration = await registered(auth, unique)
    session_cookie = refresh_token_of(registration)
    token = await mailed_token(auth, address)

    reset = await auth.client.post(
        RESET, json={"token": token, "password": NEW_PASSWORD, "confirmPassword": NEW_PASSWORD}
    )

    assert reset.status_code == 200, reset.text
    assert reset.json()["message"]
    old = await auth.client.post("/api/auth/login", json={"email": address, "password": PASSWORD})
    assert old.status_code == 401
    new = await auth.client.post(
        "/api/auth/login", json={"email": address, "password": NEW_PASSWORD}
    )
    assert new.status_code == 200
    assert (await auth.with_cookie("/api/auth/refresh", session_cookie)).status_code == 401
    again = await auth.client.post(RESET, json={"token": token, "password": "yet-another-one"})
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_reset_token"


async def test_an_expired_or_unknown_token_changes_nothing(auth: Auth, unique: Any) -> None:
    address, _ = await registered(auth, unique)
    token = await mailed_token(auth, address)
    async with auth.runtime.db.engine.begin() as connection:
        await connection.execute(
            update(PasswordResetRow).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    for sent in (token, token + "x", "not-a-token"):
        response = await auth.client.post(RESET, json={"token": sent, "password": NEW_PASSWORD})
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_reset_token"
    login = await auth.client.post("/api/auth/login", json={"email": address, "password": PASSWORD})
    assert login.status_code == 200


async def test_a_new_link_spends_nothing_but_a_reset_spends_every_link(
    auth: Auth, unique: Any
) -> None:
    address, _ = await registered(auth, unique)
    first = await mailed_token(auth, address, count=1)
    second = await mailed_token(auth, address, count=2)

    assert (
        await auth.client.post(RESET, json={"token": first, "password": NEW_PASSWORD})
    ).status_code == 200
    assert (
        await auth.client.post(RESET, json={"token": second, "password": PASSWORD})
    ).status_code == 400


async def test_links_per_hour_are_limited_and_the_answer_does_not_change(
    sqlite_url: str, tmp_path: Path, unique: Any
) -> None:
    async with running(sqlite_url, data_dir=tmp_path, reset_requests_per_hour=2) as auth:
        address, _ = await registered(auth, unique)
        answers = [await auth.client.post(FORGOT, json={"email": address}) for _ in range(4)]

        assert {a.status_code for a in answers} == {202}
        assert len({a.text for a in answers}) == 1
        count = await auth.scalar(select(func.count()).select_from(PasswordResetRow))
        assert count == 2
        await wait_for(
            lambda: _async(mails_in(auth.settings.mail_dir)), until=lambda m: len(m) == 2
        )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "not-an-address"},
        {"email": None},
        {"email": ["a@example.org"]},
    ],
)
async def test_a_malformed_forgot_password_is_422(auth: Auth, body: Any) -> None:
    response = await auth.client.post(FORGOT, json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_a_reset_refuses_a_weak_or_mismatched_password(auth: Auth, unique: Any) -> None:
    address, _ = await registered(auth, unique)
    token = await mailed_token(auth, address)

    for body in (
        {"token": token, "password": "short"},
        {"token": token, "password": NEW_PASSWORD, "confirm_password": "something-else"},
    ):
        assert (await auth.client.post(RESET, json=body)).status_code == 422
    # The token survives a refused attempt.
    ok = await auth.client.post(RESET, json={"token": token, "password": NEW_PASSWORD})
    assert ok.status_code == 200


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
async def smtp_server() -> AsyncIterator[tuple[str, _Inbox]]:
    """A real SMTP server (aiosmtpd) on a free local port."""
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{controller.port}", inbox
    finally:
        controller.stop()


async def test_with_an_smtp_url_the_link_goes_to_the_mail_server(
    sqlite_url: str, tmp_path: Path, unique: Any, smtp_server: tuple[str, _Inbox]
) -> None:
    url, inbox = smtp_server
    async with running(sqlite_url, data_dir=tmp_path, smtp_url=url) as auth:
        address, _ = await registered(auth, unique)
        await auth.client.post(FORGOT, json={"email": address})

        await wait_for(lambda: _async(inbox.messages), what="the SMTP delivery")
        _, recipients, content = inbox.messages[0]
        assert recipients == [address]
        message = email.message_from_bytes(content)
        token = token_in(message)
        reset = await auth.client.post(RESET, json={"token": token, "password": NEW_PASSWORD})
        assert reset.status_code == 200
        assert not auth.settings.mail_dir.exists()


@pytest.mark.parametrize(("ttl", "kept"), [(1800, timedelta(hours=1)), (7200, timedelta(hours=2))])
def test_reset_tokens_are_kept_while_they_count_or_work_then_deleted(
    sqlite_url: str, ttl: int, kept: timedelta
) -> None:
    # The per-hour limit counts the last hour's tokens, and a link works for its lifetime:
    # retention (kit.retention) deletes a token only once both are past.
    settings = make_settings(sqlite_url, reset_token_ttl_seconds=ttl)
    [rule] = [r for r in retention_rules(settings) if r.name == "password_reset"]
    assert rule.column.name == "created_at"
    assert rule.keep == kept
