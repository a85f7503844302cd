"""The whole platform as real processes on the test PostgreSQL and Kafka (a pytest plugin
loaded by tests/conftest.py: the system tests and the seed clients' contract tests share
one platform per session).

Each service runs from its console script exactly as `make up` starts it,
but on free ports, with one fresh PostgreSQL database per service, and with
the platform's topics emptied first so a run never sees an earlier run's
events (all of it in :mod:`harness.platform`, shared with the benchmark and
the fault scenarios). A local webhook receiver stands in for the external
systems the dispatcher notifies.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import aiohttp
import pytest

from harness.platform import (
    WEBHOOK_SECRET,
    Credentials,
    LocalPlatform,
    PlatformNotReady,
    running_platform,
)
from harness.resources import (
    WebhookReceiver,
    free_port,
    webhook_receiver,
)
from tests.conftest import ADMIN_URL
from tests.support import wait_for

JWT_SECRET = "system-test-secret-0123456789-0123456789"
REGISTRY_TOKEN = "system-test-registry-token-0123456789"
ADMIN = ("admin", "admin-password-for-tests-0123456789")

Platform = LocalPlatform

__all__ = ["WEBHOOK_SECRET", "Platform", "WebhookReceiver", "free_port"]


@pytest.fixture(scope="session")
async def webhooks() -> AsyncIterator[WebhookReceiver]:
    async with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
async def platform(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, webhooks: WebhookReceiver
) -> AsyncIterator[Platform]:
    extra_env = {
        # Tests stand in for a trusted proxy: a test that trips a per-address limit
        # (brute force, fuzzing) does it from an address of its own.
        "GATEWAY_TRUST_FORWARDED": "true",
        # The tests register many users from this one address (the limit's own test is in
        # tests/gateway/test_hostile_identity.py).
        "GATEWAY_RATE_LIMIT_REGISTER": "100000/hour",
        "DISPATCHER_HANDLING_DELAY": "1.5",
    }
    try:
        async with running_platform(
            admin_url=ADMIN_URL,
            kafka_bootstrap=kafka_bootstrap,
            state_dir=tmp_path_factory.mktemp("platform"),
            webhooks=webhooks,
            extra_env=extra_env,
            prefix=f"sys_{uuid.uuid4().hex[:8]}",
            credentials=Credentials(JWT_SECRET, REGISTRY_TOKEN, ADMIN),
        ) as started:
            yield started
    except PlatformNotReady as exc:
        pytest.fail(str(exc))


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=platform.gateway) as session:
        yield session


@pytest.fixture(scope="session")
async def admin_token(platform: Platform) -> str:
    """One admin login for the session: the gateway limits logins per address and per name."""
    async with (
        aiohttp.ClientSession(base_url=platform.gateway) as session,
        session.post("/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}) as response,
    ):
        body = await response.json()
        assert response.status == 200, body
        return str(body["token"])


@asynccontextmanager
async def restarted_with(
    platform: Platform, service: str, env: Mapping[str, str]
) -> AsyncIterator[None]:
    """``service`` restarted with ``env`` for the block (e.g. another mode of a setting), then
    restarted as it was; each time ready and routed by the gateway before going on."""
    before = {name: platform.env.get(name) for name in env}
    platform.env.update(env)
    try:
        await _restart(platform, service)
        yield
    finally:
        for name, value in before.items():
            if value is None:
                platform.env.pop(name, None)
            else:
                platform.env[name] = value
        await _restart(platform, service)


async def _restart(platform: Platform, service: str) -> None:
    await asyncio.to_thread(platform.stop_service, service)
    running = platform.start_service(service)
    ready = await platform.launcher.wait_ready([running], timeout=90)
    if not all(ready.values()):
        pytest.fail(f"{service} did not come back: {platform.logs_tail()[service]}")
    await wait_for(
        lambda: platform.routed_instances(service),
        until=lambda n: n == 1,
        what=f"the gateway routing {service} again",
    )
