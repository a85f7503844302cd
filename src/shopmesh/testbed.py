"""The whole platform as real processes on a given PostgreSQL and Kafka, on free ports.

Shared by the system tests (``tests/system``) and the fault scenarios
(``make chaos``): each service runs from its console script exactly as
``make up`` starts it, with one fresh PostgreSQL database per service, the
platform's topics emptied first, and a local webhook receiver standing in
for the external systems the dispatcher notifies.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

from shopmesh.launcher import SERVICES, Launcher, RunningService, ServiceSpec

JWT_SECRET = "system-test-secret-0123456789-0123456789"
REGISTRY_TOKEN = "system-test-registry-token-0123456789"
WEBHOOK_SECRET = "system-test-webhook-secret-0123456789"
ADMIN = ("admin", "admin-password-for-tests-0123456789")
PLATFORM_TOPICS = ["transactions", "user-events", "order-events"]


class PlatformNotReady(RuntimeError):
    """Some service did not answer ``/ready`` in time; the message carries their log tails."""


@dataclass
class WebhookReceiver:
    """Records what the dispatcher posts; answers 500 to the first ``fail_first`` calls."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    fail_first: int = 1
    calls: int = 0


@asynccontextmanager
async def webhook_receiver(*, fail_first: int = 1) -> AsyncIterator[WebhookReceiver]:
    """A local HTTP endpoint for the dispatcher's webhooks, on a free port."""
    receiver = WebhookReceiver(fail_first=fail_first)

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
    try:
        yield receiver
    finally:
        await runner.cleanup()


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
        running = self.launcher.start(extra, env=self.env, port=free_port())
        self.running[extra.key] = running
        return running

    def restart(self, key: str) -> RunningService:
        """Start the process ``key`` again on its port (after a stop or a kill)."""
        previous = self.running[key]
        restarted = self.launcher.start(previous.spec, env=self.env, port=port_of(previous.url))
        self.running[key] = restarted
        return restarted


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+asyncpg://``) as a plain libpq DSN for asyncpg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def reset_topics(bootstrap: str) -> None:
    """Delete the platform's topics (and their dead-letter topics) so a run starts empty."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [t for base in PLATFORM_TOPICS for t in (base, f"{base}.dlq") if t in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


def platform_environment(
    admin_url: str,
    prefix: str,
    urls: Mapping[str, str],
    *,
    kafka_bootstrap: str,
    webhook_url: str,
) -> dict[str, str]:
    """Every process's environment: databases ``<prefix>_<service>``, Kafka, secrets, URLs."""
    # Built as text: rendering a URL would percent-encode the template's braces.
    server = make_url(admin_url).set(database="").render_as_string(hide_password=False)
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
        "DISPATCHER_HANDLING_DELAY": "1.5",
        "DISPATCHER_WEBHOOK_URLS": webhook_url,
        "DISPATCHER_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "DISPATCHER_WEBHOOK_BACKOFF": "0.2",
    }
    if "registry" in urls:
        env["SHOPMESH_REGISTRY_URL"] = urls["registry"]
    if "web" in urls:
        env["GATEWAY_CORS_ORIGINS"] = urls["web"]
        env["WEB_API_BASE"] = urls["gateway"]
    return env


@asynccontextmanager
async def running_platform(
    *,
    admin_url: str,
    kafka_bootstrap: str,
    state_dir: Path,
    webhooks: WebhookReceiver,
    services: tuple[ServiceSpec, ...] = SERVICES,
    extra_env: Mapping[str, str] | None = None,
    prefix: str | None = None,
    ready_timeout: float = 120.0,
) -> AsyncIterator[Platform]:
    """Start ``services`` on fresh databases; stop them all and drop the databases afterwards."""
    await reset_topics(kafka_bootstrap)
    prefix = prefix or f"sys_{uuid.uuid4().hex[:8]}"
    with_db = [s.name for s in services if s.database]
    admin = await asyncpg.connect(asyncpg_dsn(admin_url), timeout=10)
    try:
        for name in with_db:
            # A fixed prefix (the fault runs') may still have a killed run's databases.
            await admin.execute(f'DROP DATABASE IF EXISTS "{prefix}_{name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{prefix}_{name}"')
    finally:
        await admin.close()
    ports = {spec.name: free_port() for spec in services}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = platform_environment(
        admin_url, prefix, urls, kafka_bootstrap=kafka_bootstrap, webhook_url=webhooks.url
    )
    env.update(extra_env or {})
    launcher = Launcher(state_dir)
    try:
        running = {s.name: launcher.start(s, env=env, port=ports[s.name]) for s in services}
        ready = await launcher.wait_ready(running.values(), timeout=ready_timeout)
        if not all(ready.values()):
            logs = {n: (launcher.log_dir / f"{n}.log").read_text()[-3000:] for n in ready}
            raise PlatformNotReady(f"platform not ready: {ready}\n{json.dumps(logs, indent=1)}")
        database_urls = {
            n: make_url(admin_url).set(database=f"{prefix}_{n}").render_as_string(False)
            for n in with_db
        }
        yield Platform(urls["gateway"], urls, launcher, database_urls, env, running, webhooks)
    finally:
        launcher.stop_all(launcher.started())
        await _drop_databases(admin_url, [f"{prefix}_{n}" for n in with_db])


async def _drop_databases(admin_url: str, names: list[str]) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(admin_url), timeout=10)
    try:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
