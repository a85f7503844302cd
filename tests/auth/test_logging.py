"""No password, password hash or token ever reaches a log line."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from shopmesh.auth.repository import UserAccount
from shopmesh.kit.logging import JsonFormatter, configure_logging

from .support import Auth, refresh_token_of

REFRESH = "/api/auth/refresh"
TOUCHED_LOGGERS = ("aiokafka", "kafka", "aiosqlite", "uvicorn.access")


@pytest.fixture
def service_logging(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The logging a service process runs with, at its most verbose level, captured."""
    root = logging.getLogger()
    handlers = root.handlers[:]
    saved = {name: logging.getLogger(name) for name in TOUCHED_LOGGERS}
    levels = {name: (log.level, log.disabled) for name, log in saved.items()}
    caplog.set_level(logging.DEBUG)
    configure_logging("auth", "DEBUG")
    root.addHandler(caplog.handler)
    yield caplog
    root.handlers[:] = handlers
    for name, (level, disabled) in levels.items():
        saved[name].setLevel(level)
        saved[name].disabled = disabled


async def test_logs_hold_no_password_hash_or_token(
    auth: Auth, username: str, service_logging: pytest.LogCaptureFixture
) -> None:
    password = "a-very-distinctive-password"

    registered = await auth.register(username, password)
    first = refresh_token_of(registered)
    refreshed = await auth.with_cookie(REFRESH, first)
    await auth.with_cookie(REFRESH, first)  # again within the grace window: same answer
    await auth.age_refresh_use(first, auth.settings.refresh_reuse_grace_seconds + 1)
    await auth.with_cookie(REFRESH, first)  # reuse: logged as a warning
    await auth.login(username, "a-wrong-password-value")
    await auth.login(username, password)
    await auth.register("x", password)
    await auth.me(f"Bearer {registered.json()['token']}")
    hashes = await auth.rows(select(UserAccount.password_hash))

    secrets = {
        password,
        "a-wrong-password-value",
        first,
        refresh_token_of(refreshed),
        registered.json()["token"],
        refreshed.json()["token"],
        *(row.password_hash for row in hashes),
    }
    formatter = JsonFormatter("auth")
    lines = [formatter.format(record) for record in service_logging.records]
    assert any('"status":201' in line for line in lines)  # the access log was captured
    assert any("reuse" in line for line in lines)
    for line in lines:
        for secret in secrets:
            assert secret not in line
