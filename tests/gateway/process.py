"""The gateway as a real process (its console script), on free ports, for the hostile tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.resources import free_port
from shopmesh.launcher import Launcher, ServiceSpec

SECRET = "hostile-test-secret-0123456789-abcdefghij"
SERVICES = ("auth", "payments", "analytics", "customers", "products", "orders", "dispatcher")


@dataclass
class GatewayProcess:
    port: int
    metrics_port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@asynccontextmanager
async def gateway_process(
    state_dir: Path,
    upstream: str,
    env: Mapping[str, str] = {},
    *,
    services: Mapping[str, str] = {},
) -> AsyncIterator[GatewayProcess]:
    """``shopmesh-gateway`` with every service routed to ``upstream`` (or its entry in
    ``services``); stopped by pid after."""
    launcher = Launcher(state_dir)
    spec = ServiceSpec("gateway", 8080, instance="hostile", database=False)
    port, metrics_port = free_port(), free_port()
    values = {
        "GATEWAY_UPSTREAMS": json.dumps(
            {name: [services.get(name, upstream)] for name in SERVICES}
        ),
        "GATEWAY_METRICS_PORT": str(metrics_port),
        "GATEWAY_REGISTRY_URL": "",
        "SHOPMESH_REGISTRY_URL": "",
        "SHOPMESH_JWT_SECRET": SECRET,
        "SHOPMESH_LOG_LEVEL": "INFO",
        **env,
    }
    running = launcher.start(spec, env=values, port=port)
    try:
        ready = await launcher.wait_ready([running], timeout=60)
        assert ready.get(spec.key), running.log_path.read_text(errors="replace")[-3000:]
        yield GatewayProcess(port, metrics_port, running.log_path)
    finally:
        launcher.stop(spec)
