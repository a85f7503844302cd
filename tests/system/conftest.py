"""The whole platform as real processes on the test PostgreSQL and Kafka.

Each service runs from its console script exactly as `make up` starts it,
but on free ports, with one fresh PostgreSQL database per service, and with
the platform's topics emptied first so a run never sees an earlier run's
events. A local webhook receiver stands in for the external systems the
dispatcher notifies.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

from shopmesh.launcher import SERVICES, Launcher, RunningService, ServiceSpec
from tests.conftest import ADMIN_URL

JWT_SECRET = "system-test-secret-0123456789-0123456789"
REGISTRY_TOKEN = "system-test-registry-token-0123456789"
WEBHOOK_SECRET = "system-test-webhook-secret-0123456789"
ADMIN = ("admin", "admin-password-for-tests-0123456789")
PLATFORM_TOPICS = ["transactions", "user-events", "order-events"]


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
    admin: tuple[str, str] = ADMIN

    def start_instance(self, name: str, instance: str) -> RunningService:
        """Start one more process of service ``name`` on a free port."""
        spec = next(s for s in SERVICES if s.name == name)
        extra = ServiceSpec(spec.name, spec.port, instance=instance, database=spec.database)
        return self.launcher.start(extra, env=self.env, port=free_port())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _reset_topics(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [t for base in PLATFORM_TOPICS for t in (base, f"{base}.dlq") if t in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


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


def _environment(
    prefix: str, urls: dict[str, str], kafka_bootstrap: str, webhooks: WebhookReceiver
) -> dict[str, str]:
    # Built as text: rendering a URL would percent-encode the template's braces.
    server = make_url(ADMIN_URL).set(database="").render_as_string(hide_password=False)
    backends = {n: u for n, u in urls.items() if n not in {"gateway", "web"}}
    env = {
        "SHOPMESH_DATABASE_URL_TEMPLATE": f"{server.rstrip('/')}/{prefix}_{{service}}",
        "SHOPMESH_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "SHOPMESH_JWT_SECRET": JWT_SECRET,
        "SHOPMESH_ADMIN_USERNAME": ADMIN[0],
        "SHOPMESH_ADMIN_PASSWORD": ADMIN[1],
        "SHOPMESH_OUTBOX_POLL_INTERVAL": "0.1",
        "SHOPMESH_SERVICE_URLS": json.dumps(backends),
        "SHOPMESH_REGISTRY_TOKEN": REGISTRY_TOKEN,
        "SHOPMESH_REGISTRY_HEARTBEAT_INTERVAL": "1",
        "REGISTRY_TTL": "4",
        "AUTH_BCRYPT_ROUNDS": "4",
        "GATEWAY_UPSTREAMS": json.dumps({n: [u] for n, u in backends.items()}),
        # Tests stand in for a trusted proxy: a test that trips a per-address limit
        # (brute force, fuzzing) does it from an address of its own.
        "GATEWAY_TRUST_FORWARDED": "true",
        "DISPATCHER_HANDLING_DELAY": "1.5",
        "DISPATCHER_WEBHOOK_URLS": webhooks.url,
        "DISPATCHER_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "DISPATCHER_WEBHOOK_BACKOFF": "0.2",
    }
    if "registry" in urls:
        env["SHOPMESH_REGISTRY_URL"] = urls["registry"]
    if "web" in urls:
        env["GATEWAY_CORS_ORIGINS"] = urls["web"]
        env["WEB_API_BASE"] = urls["gateway"]
    return env


@pytest.fixture(scope="session")
async def platform(
    kafka_bootstrap: str,
    postgres_admin: asyncpg.Connection,
    tmp_path_factory: pytest.TempPathFactory,
    webhooks: WebhookReceiver,
) -> AsyncIterator[Platform]:
    await _reset_topics(kafka_bootstrap)
    prefix = f"sys_{uuid.uuid4().hex[:8]}"
    with_db = [s.name for s in SERVICES if s.database]
    for name in with_db:
        await postgres_admin.execute(f'CREATE DATABASE "{prefix}_{name}"')
    ports = {spec.name: free_port() for spec in SERVICES}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = _environment(prefix, urls, kafka_bootstrap, webhooks)
    launcher = Launcher(Path(tmp_path_factory.mktemp("platform")))
    running = {s.name: launcher.start(s, env=env, port=ports[s.name]) for s in SERVICES}
    try:
        ready = await launcher.wait_ready(running.values(), timeout=120)
        if not all(ready.values()):
            logs = {n: (launcher.log_dir / f"{n}.log").read_text()[-3000:] for n in ready}
            pytest.fail(f"platform not ready: {ready}\n{json.dumps(logs, indent=1)}")
        database_urls = {
            n: make_url(ADMIN_URL).set(database=f"{prefix}_{n}").render_as_string(False)
            for n in with_db
        }
        yield Platform(urls["gateway"], urls, launcher, database_urls, env, running, webhooks)
    finally:
        launcher.stop_all(launcher.started())
        for name in with_db:
            await postgres_admin.execute(f'DROP DATABASE IF EXISTS "{prefix}_{name}" WITH (FORCE)')


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=platform.gateway) as session:
        yield session
