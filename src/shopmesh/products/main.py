"""Wiring of the products service: settings, app, the order events consumer."""

from __future__ import annotations

from typing import Any

from shopmesh.kit.app import ServiceRuntime, create_service_app
from shopmesh.kit.runner import serve
from shopmesh.products.api import router
from shopmesh.products.consumers import order_events_consumer
from shopmesh.products.service import ProductService
from shopmesh.products.settings import Settings

DESCRIPTION = (
    "The product catalogue (public reads, admin writes) and its stock: all-or-nothing, "
    "idempotent reservations for orders, released on request or on `order.cancelled`."
)


def create_app(settings: Settings | None = None) -> Any:
    """The products ASGI app; nothing connects until its lifespan starts."""
    settings = settings or Settings()

    async def on_startup(runtime: ServiceRuntime) -> None:
        runtime.state["products"] = ProductService(runtime)

    return create_service_app(
        settings,
        title="ShopMesh products",
        description=DESCRIPTION,
        routers=[router],
        migrations="shopmesh.products:migrations",
        consumers=lambda runtime: [order_events_consumer(runtime.db, settings)],
        on_startup=on_startup,
    )


def run() -> None:
    """Entry point of ``shopmesh-products``."""
    settings = Settings()
    serve(create_app(settings), settings)
