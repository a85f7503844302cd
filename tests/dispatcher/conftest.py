"""Fixtures for dispatcher tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .support import Dispatcher, running


@pytest.fixture
async def dispatcher(sqlite_url: str) -> AsyncIterator[Dispatcher]:
    """The dispatcher on a fresh SQLite database; shipments wait a minute before dispatch."""
    async with running(sqlite_url, handling_delay=60) as service:
        yield service


@pytest.fixture
async def instant(sqlite_url: str) -> AsyncIterator[Dispatcher]:
    """The dispatcher on a fresh SQLite database; shipments are due at once."""
    async with running(sqlite_url, handling_delay=0) as service:
        yield service
