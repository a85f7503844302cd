"""Wiring of the web server: ``shopmesh-web`` serves the built UI on port 3000."""

from __future__ import annotations

from typing import Any

from shopmesh.kit.runner import serve
from shopmesh.web.app import create_app as create_site
from shopmesh.web.settings import Settings


def create_app(settings: Settings | None = None) -> Any:
    """The static server's ASGI app."""
    return create_site(settings or Settings())


def run() -> None:
    settings = Settings()
    serve(create_app(settings), settings)
