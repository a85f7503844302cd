"""Fixtures for payments tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .support import Payments, running


@pytest.fixture
async def payments(sqlite_url: str) -> AsyncIterator[Payments]:
    """Payments on a fresh SQLite database, default limit 1000.00 over all transactions."""
    async with running(sqlite_url) as service:
        yield service
