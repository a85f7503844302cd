"""Wiring: the analytics app (HTTP + the transactions consumer) and its process entry."""

from __future__ import annotations

from shopmesh.analytics.api import StatsDependency, router
from shopmesh.analytics.consumers import transactions_consumer
from shopmesh.analytics.repository import AnalyticsUnitOfWork
from shopmesh.analytics.service import StatsService
from shopmesh.analytics.settings import Settings
from shopmesh.kit.app import ServiceApp, create_service_app
from shopmesh.kit.runner import serve
from shopmesh.kit.runtime import ServiceRuntime


def create_app(settings: Settings | None = None) -> ServiceApp:
    """The analytics ASGI app; the database and the consumer open in its lifespan."""
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, migrations="shopmesh.analytics:migrations")
    units = runtime.units(AnalyticsUnitOfWork)
    return create_service_app(
        runtime,
        title="ShopMesh analytics",
        description="Totals of the platform's transactions, fed by the transactions topic.",
        routers=[router],
        dependencies=[StatsDependency.given(StatsService(units))],
        consumers=[transactions_consumer(settings, units)],
    )


def run() -> None:
    """Entry point of ``shopmesh-analytics``."""
    settings = Settings()
    serve(create_app(settings), settings)
