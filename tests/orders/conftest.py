"""Fixtures for orders tests: fake products and customers on loopback, orders on SQLite
(`orders`) or on each database in turn (`service`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .support import Fakes, Orders, fakes_running, running


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    """Fresh fake products and customers services, each on its own port."""
    async with fakes_running() as started:
        yield started


@pytest.fixture
async def orders(sqlite_url: str, fakes: Fakes) -> AsyncIterator[Orders]:
    """Orders on a fresh SQLite database, calling the fakes (no Kafka)."""
    async with running(sqlite_url, fakes.urls()) as service:
        yield service


@pytest.fixture
async def service(database_url: str, fakes: Fakes) -> AsyncIterator[Orders]:
    """Orders on each database in turn (SQLite, then the test PostgreSQL), calling the fakes."""
    async with running(database_url, fakes.urls()) as started:
        yield started
