"""Fixtures for auth tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from .support import Auth, running


@pytest.fixture
async def auth(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Auth]:
    """The auth service on a fresh SQLite database (bcrypt cost 4, no Kafka); its mail is
    written under ``tmp_path/mail``."""
    async with running(sqlite_url, data_dir=tmp_path) as service:
        yield service


@pytest.fixture
def username(unique: Callable[[str], str]) -> str:
    return unique("user_")
