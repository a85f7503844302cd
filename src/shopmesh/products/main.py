"""Wiring of the products service: settings, app, the order events consumer."""

from __future__ import annotations

from shopmesh.kit.app import ServiceApp, create_service_app
from shopmesh.kit.runner import serve
from shopmesh.kit.runtime import ServiceRuntime
from shopmesh.products.api import ProductsDependency, router
from shopmesh.products.consumers import order_events_consumer
from shopmesh.products.repository import ProductsUnitOfWork
from shopmesh.products.service import ProductService
from shopmesh.products.settings import Settings

DESCRIPTION = (
    "The product catalogue (public reads, admin writes) and its stock: all-or-nothing, "
    "idempotent reservations for orders, released on request or on `order.cancelled`."
)


def create_app(settings: Settings | None = None) -> ServiceApp:
    """The products ASGI app; nothing connects until its lifespan starts."""
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, migrations="shopmesh.products:migrations")
    units = runtime.units(ProductsUnitOfWork)
    return create_service_app(
        runtime,
        title="ShopMesh products",
        description=DESCRIPTION,
        routers=[router],
        dependencies=[ProductsDependency.given(ProductService(units))],
        consumers=[order_events_consumer(settings, units)],
    )


def run() -> None:
    """Entry point of ``shopmesh-products``."""
    settings = Settings()
    serve(create_app(settings), settings)
