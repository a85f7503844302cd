"""Wiring: the analytics app (HTTP + the transactions consumer) and its process entry."""

from __future__ import annotations

from typing import Any

from shopmesh.analytics.api import router
from shopmesh.analytics.consumers import transaction_consumer
from shopmesh.analytics.settings import Settings
from shopmesh.kit.app import create_service_app
from shopmesh.kit.runner import serve


def create_app(settings: Settings | None = None) -> Any:
    """The analytics ASGI app; the database and the consumer open in its lifespan."""
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="ShopMesh analytics",
        description="Totals of the platform's transactions, fed by the transactions topic.",
        routers=[router],
        migrations="shopmesh.analytics:migrations",
        consumers=lambda runtime: [transaction_consumer(runtime.db, settings)],
    )


def run() -> None:
    """Entry point of ``shopmesh-analytics``."""
    settings = Settings()
    serve(create_app(settings), settings)
