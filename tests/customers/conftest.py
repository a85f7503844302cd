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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database of each kind in turn: SQLite, then the test PostgreSQL."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url
