"""Fixtures for auth tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from .support import Auth, running


@pytest.fixture
async def auth(sqlite_url: str) -> AsyncIterator[Auth]:
    """The auth service on a fresh SQLite database (bcrypt cost 4, no Kafka)."""
    async with running(sqlite_url) as service:
        yield service


@pytest.fixture
def username(unique: Callable[[str], str]) -> str:
    return unique("user_")
