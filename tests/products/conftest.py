"""Fixtures for products tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support import shared_sqlite_url

from .support import Products, running


@pytest.fixture
async def products(sqlite_url: str) -> AsyncIterator[Products]:
    """Products on a fresh SQLite database, without Kafka."""
    async with running(sqlite_url) as service:
        yield service


@pytest.fixture(scope="module")
async def shared_products(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Products]:
    """One app for a module's long tables of refusals; those tests compare before and after."""
    async with running(shared_sqlite_url(tmp_path_factory, "products")) as service:
        yield service
