"""Start one service process under uvicorn (uvloop + httptools, our own JSON logs)."""

from __future__ import annotations

import uvicorn

from shopmesh.kit.http import ASGIApp
from shopmesh.kit.logging import configure_logging
from shopmesh.kit.settings import ServiceSettings
from shopmesh.kit.tracing import configure_tracing


def serve(app: ASGIApp, settings: ServiceSettings) -> None:
    """Run ``app`` on the service's host and port until SIGINT/SIGTERM."""
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        # Client addresses are the gateway's business (its own trust_forwarded setting);
        # uvicorn must not rewrite them from X-Forwarded-For behind its back.
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()
