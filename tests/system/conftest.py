"""The whole platform as real processes on the test PostgreSQL and Kafka.

Each service runs from its console script exactly as `make up` starts it,
but on free ports, with one fresh PostgreSQL database per service, and with
the platform's topics emptied first so a run never sees an earlier run's
events.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

from shopmesh.launcher import SERVICES, Launcher
from tests.conftest import ADMIN_URL

JWT_SECRET = "system-test-secret-0123456789-0123456789"
ADMIN = ("admin", "admin-password-for-tests")
PLATFORM_TOPICS = ["transactions", "transactions.dlq", "user-events", "user-events.dlq"]


@dataclass
class Platform:
    gateway: str
    urls: dict[str, str]
    launcher: Launcher
    database_urls: dict[str, str]
    admin: tuple[str, str] = ADMIN


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _reset_topics(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [t for t in PLATFORM_TOPICS if t in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def platform(
    kafka_bootstrap: str,
    postgres_admin: asyncpg.Connection,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Platform]:
    await _reset_topics(kafka_bootstrap)
    prefix = f"sys_{uuid.uuid4().hex[:8]}"
    services = [s.name for s in SERVICES if s.name != "gateway"]
    for name in services:
        await postgres_admin.execute(f'CREATE DATABASE "{prefix}_{name}"')
    ports = {spec.name: _free_port() for spec in SERVICES}
    launcher = Launcher(Path(tmp_path_factory.mktemp("platform")))
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    # Built as text: rendering a URL would percent-encode the template's braces.
    server = make_url(ADMIN_URL).set(database="").render_as_string(hide_password=False)
    env = {
        "SHOPMESH_DATABASE_URL_TEMPLATE": f"{server.rstrip('/')}/{prefix}_{{service}}",
        "SHOPMESH_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "SHOPMESH_JWT_SECRET": JWT_SECRET,
        "SHOPMESH_ADMIN_USERNAME": ADMIN[0],
        "SHOPMESH_ADMIN_PASSWORD": ADMIN[1],
        "SHOPMESH_OUTBOX_POLL_INTERVAL": "0.1",
        "AUTH_BCRYPT_ROUNDS": "4",
        "GATEWAY_UPSTREAMS": json.dumps({n: [u] for n, u in urls.items() if n != "gateway"}),
    }
    running = [launcher.start(spec, env=env, port=ports[spec.name]) for spec in SERVICES]
    try:
        ready = await launcher.wait_ready(running, timeout=90)
        if not all(ready.values()):
            logs = {n: (launcher.log_dir / f"{n}.log").read_text()[-3000:] for n in ready}
            pytest.fail(f"platform not ready: {ready}\n{json.dumps(logs, indent=1)}")
        database_urls = {
            n: make_url(ADMIN_URL).set(database=f"{prefix}_{n}").render_as_string(False)
            for n in services
        }
        yield Platform(urls["gateway"], urls, launcher, database_urls)
    finally:
        launcher.stop_all()
        for name in services:
            await postgres_admin.execute(f'DROP DATABASE IF EXISTS "{prefix}_{name}" WITH (FORCE)')


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=platform.gateway) as session:
        yield session
