"""Real sockets on loopback: fake backends and the gateway on its own server, in this process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from shopmesh.gateway.main import RunningGateway, start
from shopmesh.gateway.settings import GatewaySettings
from shopmesh.kit.jwt import Principal, issue_token

from .recorder import RecordingUpstream
from .support import METRICS_URLS, MakeToken, Running, StartGateway, serve
from .upstream import Upstream

SECRET = "gateway-test-secret-0123456789-abcdefghijk"
ISSUER = "shopmesh-auth"
BACKENDS = ("auth", "payments", "analytics")


@pytest.fixture(scope="session")
async def backends() -> AsyncIterator[dict[str, Upstream]]:
    """One fake backend per service the route table names."""
    started: list[Running] = []
    upstreams: dict[str, Upstream] = {}
    for name in BACKENDS:
        upstream = Upstream(name)
        running = await serve(upstream)
        upstream.url = running.url
        started.append(running)
        upstreams[name] = upstream
    yield upstreams
    for running in started:
        await running.stop()


def gateway_settings(backends: dict[str, Upstream], **overrides: Any) -> GatewaySettings:
    """Settings pointing at the fake backends; ``overrides`` win."""
    values: dict[str, Any] = {
        "upstreams": {name: [upstream.url] for name, upstream in backends.items()},
        "jwt_secret": SECRET,
        "jwt_issuer": ISSUER,
        "redis_url": None,
        "registry_url": None,  # static upstreams unless a test brings a registry
        "trust_forwarded": False,
        "host": "127.0.0.1",
        "port": 0,
        "metrics_port": 0,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@pytest.fixture
async def start_gateway(backends: dict[str, Upstream]) -> AsyncIterator[StartGateway]:
    """Start a gateway of its own (fresh rate-limit counters) with some settings changed."""
    started: list[RunningGateway] = []

    async def start_one(**overrides: Any) -> str:
        running = await start(gateway_settings(backends, **overrides))
        started.append(running)
        METRICS_URLS[running.url] = running.metrics_url
        return running.url

    yield start_one
    for running in started:
        await running.stop()


@pytest.fixture(scope="session")
async def gateway(backends: dict[str, Upstream]) -> AsyncIterator[str]:
    """The gateway with default settings, shared by the tests that need nothing special."""
    running = await start(gateway_settings(backends))
    METRICS_URLS[running.url] = running.metrics_url
    yield running.url
    await running.stop()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client that keeps no cookies and decompresses nothing."""
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
    ) as session:
        yield session


@pytest.fixture(scope="module")
async def upstream() -> AsyncIterator[RecordingUpstream]:
    """A raw-socket upstream recording what reaches it (for the gateway-process tests)."""
    recorder = await RecordingUpstream().start()
    yield recorder
    await recorder.stop()


@pytest.fixture
def make_token() -> MakeToken:
    """Sign a token the gateway accepts unless told otherwise."""

    def make(
        *,
        user_id: int | None = None,
        role: str = "user",
        secret: str = SECRET,
        issuer: str = ISSUER,
        ttl: timedelta = timedelta(hours=1),
    ) -> str:
        principal = Principal(
            user_id=user_id or uuid.uuid4().int % 1_000_000, username="ann", role=role
        )
        return issue_token(principal, secret=secret, issuer=issuer, ttl=ttl)

    return make
