"""Wiring: the gateway app behind the kit's request-context middleware, and its process entry."""

from __future__ import annotations

from shopmesh.gateway.app import Gateway
from shopmesh.gateway.settings import GatewaySettings
from shopmesh.kit.http import ASGIApp, RequestContextMiddleware
from shopmesh.kit.runner import serve


def create_app(settings: GatewaySettings | None = None) -> ASGIApp:
    """The gateway ASGI app; the connection pool opens and closes with the ASGI lifespan."""
    gateway = Gateway(settings or GatewaySettings())
    # Requests enter the platform here: one without a trace context starts a trace.
    return RequestContextMiddleware(gateway, service="gateway", start_traces=True)


def run() -> None:
    """Entry point of ``shopmesh-gateway``."""
    settings = GatewaySettings()
    serve(create_app(settings), settings)
