"""Fixtures for products tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .support import Products, running


@pytest.fixture
async def products(sqlite_url: str) -> AsyncIterator[Products]:
    """Products on a fresh SQLite database, without Kafka."""
    async with running(sqlite_url) as service:
        yield service


@pytest.fixture(scope="module")
async def shared_products(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Products]:
    """One app for a module's long tables of refusals; those tests compare before and after."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('products') / 'service.db'}"
    async with running(url) as service:
        yield service
