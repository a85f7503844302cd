"""The seeds' own browser clients, replayed against the real platform.

Each module replays one client's requests exactly as its code builds them (paths,
bodies, headers, which token form on which call) from the origin it is served at,
through a gateway that runs with the development CORS default (no
``GATEWAY_CORS_ORIGINS``), and asserts every field that client reads.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from shopmesh.launcher import Launcher, ServiceSpec
from tests.platform_fixtures import Platform, free_port


@dataclass
class Browser:
    """Calls the gateway as a browser page at ``origin`` does: a CORS preflight before any
    request that is not "simple", and the answer readable only when the origin is allowed."""

    http: aiohttp.ClientSession
    origin: str
    # The gateway believes X-Forwarded-For in tests: each client gets its own address,
    # so the login limit (per address) counts only this client's attempts.
    address: str

    async def call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        json: Any = None,
    ) -> tuple[int, Any]:
        sent = {"Origin": self.origin, "X-Forwarded-For": self.address, **(headers or {})}
        if json is not None:
            sent.setdefault("Content-Type", "application/json")
        if _needs_preflight(method, sent):
            await self._preflight(method, path, sent)
        async with self.http.request(method, path, headers=sent, json=json) as response:
            assert response.headers.get("Access-Control-Allow-Origin") == self.origin, (
                f"{method} {path}: the browser would hide this answer from the page"
            )
            return response.status, await response.json()

    async def _preflight(self, method: str, path: str, sent: dict[str, str]) -> None:
        asked = ", ".join(
            sorted(
                name.lower() for name in sent if name.lower() in {"authorization", "content-type"}
            )
        )
        headers = {
            "Origin": self.origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": asked,
            "X-Forwarded-For": self.address,
        }
        async with self.http.options(path, headers=headers) as response:
            assert response.status == 204, (method, path, await response.text())
            assert response.headers["Access-Control-Allow-Origin"] == self.origin
            assert method in response.headers["Access-Control-Allow-Methods"]
            allowed = response.headers["Access-Control-Allow-Headers"].lower()
            assert all(name.strip() in allowed for name in asked.split(",") if name)


def _needs_preflight(method: str, headers: dict[str, str]) -> bool:
    # Fetch's rules: anything but GET/HEAD/POST, an Authorization header, or a JSON body.
    if method not in {"GET", "HEAD", "POST"}:
        return True
    names = {name.lower() for name in headers}
    if "authorization" in names:
        return True
    content_type = headers.get("Content-Type", "")
    return bool(content_type) and not content_type.startswith("text/plain")


@pytest.fixture(scope="session")
async def seed_gateway(
    platform: Platform, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """One more gateway of the platform, on the development CORS default."""
    launcher = Launcher(tmp_path_factory.mktemp("seed-gateway"))
    spec = ServiceSpec("gateway", 8080, instance="seeds", database=False)
    env = {k: v for k, v in platform.env.items() if k != "GATEWAY_CORS_ORIGINS"}
    env["GATEWAY_METRICS_PORT"] = str(free_port())  # the platform's gateway has its own
    running = launcher.start(spec, env=env, port=free_port())
    try:
        ready = await launcher.wait_ready([running], timeout=60)
        if not all(ready.values()):
            pytest.fail(f"seed gateway not ready: {running.log_path.read_text()[-2000:]}")
        yield running.url
    finally:
        launcher.stop_all([spec])


@pytest.fixture
async def gateway_http(seed_gateway: str) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=seed_gateway) as session:
        yield session


def new_address() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
