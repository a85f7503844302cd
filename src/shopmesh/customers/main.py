"""Wiring of the customers service: settings, the app, the user-events consumer."""

from __future__ import annotations

from typing import Any

from shopmesh.customers.api import router
from shopmesh.customers.consumers import user_events_consumer
from shopmesh.customers.service import CustomerService
from shopmesh.customers.settings import Settings
from shopmesh.kit.app import ServiceRuntime, create_service_app
from shopmesh.kit.runner import serve

DESCRIPTION = (
    "Customer profiles, one per user: the caller's own under `/api/customers/me`, "
    "all of them for administrators. A profile is created when `user.registered` arrives."
)


def create_app(settings: Settings | None = None) -> Any:
    """The customers ASGI app; the database and the consumer open in its lifespan."""
    settings = settings or Settings()

    async def on_startup(runtime: ServiceRuntime) -> None:
        runtime.state["customers"] = CustomerService(runtime)

    return create_service_app(
        settings,
        title="ShopMesh customers",
        description=DESCRIPTION,
        routers=[router],
        migrations="shopmesh.customers:migrations",
        consumers=lambda runtime: [user_events_consumer(runtime.db, settings)],
        on_startup=on_startup,
    )


def run() -> None:
    """Entry point of ``shopmesh-customers``."""
    settings = Settings()
    serve(create_app(settings), settings)
