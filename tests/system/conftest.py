"""The whole platform as real processes on the test PostgreSQL and Kafka.

The platform itself is started by :mod:`shopmesh.testbed` (shared with the
fault scenarios of ``make chaos``): each service from its console script,
on free ports, with fresh databases and emptied topics.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest

from shopmesh.testbed import (
    ADMIN,
    JWT_SECRET,
    REGISTRY_TOKEN,
    WEBHOOK_SECRET,
    Platform,
    PlatformNotReady,
    WebhookReceiver,
    free_port,
    running_platform,
    webhook_receiver,
)
from tests.conftest import ADMIN_URL

__all__ = ["ADMIN", "JWT_SECRET", "REGISTRY_TOKEN", "WEBHOOK_SECRET", "Platform", "free_port"]


@pytest.fixture(scope="session")
async def webhooks() -> AsyncIterator[WebhookReceiver]:
    async with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
async def platform(
    kafka_bootstrap: str,
    postgres_admin: asyncpg.Connection,
    tmp_path_factory: pytest.TempPathFactory,
    webhooks: WebhookReceiver,
) -> AsyncIterator[Platform]:
    try:
        async with running_platform(
            admin_url=ADMIN_URL,
            kafka_bootstrap=kafka_bootstrap,
            state_dir=tmp_path_factory.mktemp("platform"),
            webhooks=webhooks,
        ) as platform:
            yield platform
    except PlatformNotReady as exc:
        pytest.fail(str(exc))


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=platform.gateway) as session:
        yield session
