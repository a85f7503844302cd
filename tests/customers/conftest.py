"""Fixtures for customers tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .support import Customers, running


@pytest.fixture
async def customers(sqlite_url: str) -> AsyncIterator[Customers]:
    """Customers on a fresh SQLite database, without Kafka."""
    async with running(sqlite_url) as service:
        yield service
