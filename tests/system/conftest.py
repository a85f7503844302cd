"""The whole platform as real processes on the test PostgreSQL and Kafka.

Each service runs from its console script exactly as `make up` starts it,
but on free ports, with one fresh PostgreSQL database per service, and with
the platform's topics emptied first so a run never sees an earlier run's
events (all of it in :mod:`shopmesh.platform`, shared with the benchmark).
A local webhook receiver stands in for the external systems the dispatcher
notifies.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from shopmesh.launcher import Launcher, RunningService
from shopmesh.platform import Credentials, LocalPlatform, free_port, reset_topics
from tests.conftest import ADMIN_URL

JWT_SECRET = "system-test-secret-0123456789-0123456789"
REGISTRY_TOKEN = "system-test-registry-token-0123456789"
WEBHOOK_SECRET = "system-test-webhook-secret-0123456789"
ADMIN = ("admin", "admin-password-for-tests-0123456789")

__all__ = ["Platform", "WebhookReceiver", "free_port"]


@dataclass
class WebhookReceiver:
    """Records what the dispatcher posts; answers 500 to the first ``fail_first`` calls."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    fail_first: int = 1
    calls: int = 0


@dataclass
class Platform:
    gateway: str
    urls: dict[str, str]
    launcher: Launcher
    database_urls: dict[str, str]
    env: dict[str, str]
    running: dict[str, RunningService]
    webhooks: WebhookReceiver
    local: LocalPlatform
    admin: tuple[str, str] = ADMIN

    def start_instance(self, name: str, instance: str) -> RunningService:
        """Start one more process of service ``name`` on a free port."""
        return self.local.start_instance(name, instance)


@pytest.fixture(scope="session")
async def webhooks() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()

    async def receive(request: web.Request) -> web.Response:
        receiver.calls += 1
        if receiver.calls <= receiver.fail_first:
            return web.Response(status=500)
        receiver.received.append({"headers": dict(request.headers), "body": await request.read()})
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    receiver.url = f"http://127.0.0.1:{port}/hook"
    yield receiver
    await runner.cleanup()


@pytest.fixture(scope="session")
async def platform(
    kafka_bootstrap: str,
    postgres_admin: asyncpg.Connection,
    tmp_path_factory: pytest.TempPathFactory,
    webhooks: WebhookReceiver,
) -> AsyncIterator[Platform]:
    await reset_topics(kafka_bootstrap)
    local = LocalPlatform.prepare(
        state_dir=Path(tmp_path_factory.mktemp("platform")),
        admin_url=ADMIN_URL,
        kafka_bootstrap=kafka_bootstrap,
        prefix=f"sys_{uuid.uuid4().hex[:8]}",
        credentials=Credentials(JWT_SECRET, REGISTRY_TOKEN, ADMIN),
    )
    local.env.update(
        {
            "AUTH_BCRYPT_ROUNDS": "4",
            # Tests stand in for a trusted proxy: a test that trips a per-address limit
            # (brute force, fuzzing) does it from an address of its own.
            "GATEWAY_TRUST_FORWARDED": "true",
            "DISPATCHER_HANDLING_DELAY": "1.5",
            "DISPATCHER_WEBHOOK_URLS": webhooks.url,
            "DISPATCHER_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "DISPATCHER_WEBHOOK_BACKOFF": "0.2",
        }
    )
    await local.create_databases()
    try:
        ready = await local.start(timeout=120)
        if not all(ready.values()):
            logs = local.logs_tail()
            pytest.fail(f"platform not ready: {ready}\n{json.dumps(logs, indent=1)}")
        yield Platform(
            local.gateway,
            local.urls,
            local.launcher,
            local.database_urls,
            local.env,
            local.running,
            webhooks,
            local,
        )
    finally:
        local.stop()
        await local.drop_databases()


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=platform.gateway) as session:
        yield session
