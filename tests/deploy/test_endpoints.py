"""The health checks the deployment files use point at endpoints the apps really serve."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy.manifests import PYTHON_SERVICES, SPECS, settings_class


def _app(name: str, tmp_path: Path) -> Any:
    settings = settings_class(name)(data_dir=tmp_path, kafka_enabled=False, registry_url=None)
    return importlib.import_module(f"shopmesh.{name}.main").create_app(settings)


def _route_paths(app: Any) -> set[str] | None:
    inner = getattr(app, "fastapi", app)
    if hasattr(inner, "openapi"):  # FastAPI: its OpenAPI document lists every operation
        return set(inner.openapi()["paths"])
    routes = getattr(inner, "routes", None)
    if routes is None:
        return None
    return {getattr(route, "path", "") for route in routes}


async def _gateway_probes(tmp_path: Path) -> tuple[httpx.Response, httpx.Response]:
    """The gateway runs on its own server core: start it on free ports and ask it."""
    from shopmesh.gateway.main import start

    settings = settings_class("gateway")(
        data_dir=tmp_path, registry_url=None, host="127.0.0.1", port=0, metrics_port=0
    )
    running = await start(settings)
    try:
        async with httpx.AsyncClient(base_url=running.url) as client:
            return await client.get("/health"), await client.get("/ready")
    finally:
        await running.stop()


@pytest.mark.parametrize("name", [*PYTHON_SERVICES, "web"])
async def test_health_and_ready_exist(name: str, tmp_path: Path) -> None:
    assert name in SPECS
    if name == "gateway":
        health, ready = await _gateway_probes(tmp_path)
        assert (health.status_code, ready.status_code) == (200, 200), (health.text, ready.text)
        return
    app = _app(name, tmp_path)
    paths = _route_paths(app)
    if paths is not None:
        assert {"/health", "/ready"} <= paths, name
        return
    # A raw ASGI app: ask it, without its lifespan.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        health = await client.get("/health")
        ready = await client.get("/ready")
    assert health.status_code == 200, health.text
    assert ready.status_code in (200, 503), ready.text
    assert ready.json().get("code") != "not_found"
