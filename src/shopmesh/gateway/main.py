"""Wiring: the gateway and its metrics endpoint on the gateway's own server; the process entry."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

import uvloop

from shopmesh.gateway.app import Gateway
from shopmesh.gateway.server import ClientError, Exchange, HttpServer
from shopmesh.gateway.settings import GatewaySettings
from shopmesh.kit.http import error_body
from shopmesh.kit.logging import configure_logging
from shopmesh.kit.metrics import render
from shopmesh.kit.runner import tune_gc
from shopmesh.kit.tracing import configure_tracing

log = logging.getLogger(__name__)


class MetricsEndpoint:
    """``GET /metrics`` (and ``/health``) on the metrics port; nothing else."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def handle(self, exchange: Exchange) -> None:
        if exchange.path == "/metrics" and exchange.method in ("GET", "HEAD"):
            self._gateway.flush_metrics()
            body, content_type = render()
            exchange.respond(200, [(b"content-type", content_type.encode())], body)
        elif exchange.path == "/health":
            exchange.respond(200, [(b"content-type", b"application/json")], b'{"status":"ok"}')
        else:
            body = error_body("only /metrics is served here", code="not_found")
            exchange.respond(404, [(b"content-type", b"application/json")], body)

    def refuse(self, exchange: Exchange, error: ClientError) -> None:
        body = error_body(str(error), code=error.code)
        exchange.respond(error.status or 400, [(b"content-type", b"application/json")], body)


@dataclass
class RunningGateway:
    """A gateway serving in this event loop (the process, or a test)."""

    gateway: Gateway
    server: HttpServer
    metrics: HttpServer
    url: str
    metrics_url: str

    async def stop(self) -> None:
        """Stop accepting, let answers in progress finish (a grace period), close the pools."""
        await self.metrics.stop()
        await self.server.stop()
        await self.gateway.shutdown()


async def start(settings: GatewaySettings) -> RunningGateway:
    """Start the gateway on its port and its metrics on theirs (port 0: any free one)."""
    gateway = Gateway(settings)
    await gateway.startup()
    limits = settings.limits()
    server = HttpServer(gateway, limits)
    metrics = HttpServer(MetricsEndpoint(gateway), limits)
    try:
        port = await server.listen(settings.host, settings.port)
        metrics_host = settings.metrics_host or settings.host
        metrics_port = await metrics.listen(metrics_host, settings.metrics_port)
    except BaseException:
        await gateway.shutdown()
        raise
    return RunningGateway(
        gateway,
        server,
        metrics,
        f"http://{settings.host}:{port}",
        f"http://{metrics_host}:{metrics_port}",
    )


async def _serve(settings: GatewaySettings) -> None:
    running = await start(settings)
    tune_gc()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info("gateway listening on %s (metrics on %s)", running.url, running.metrics_url)
    await stop.wait()
    log.info("gateway stopping")
    await running.stop()


def run() -> None:
    """Entry point of ``shopmesh-gateway``."""
    settings = GatewaySettings()
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name)
    uvloop.run(_serve(settings))
