"""Wiring of the customers service: settings, the app, the user-events consumer."""

from __future__ import annotations

from shopmesh.customers.api import CustomersDependency, router
from shopmesh.customers.consumers import user_events_consumer
from shopmesh.customers.repository import CustomersUnitOfWork
from shopmesh.customers.service import CustomerService
from shopmesh.customers.settings import Settings
from shopmesh.kit.app import ServiceApp, create_service_app
from shopmesh.kit.runner import serve
from shopmesh.kit.runtime import ServiceRuntime

DESCRIPTION = (
    "Customer profiles, one per user: the caller's own under `/api/customers/me`, "
    "all of them for administrators. A profile is created when `user.registered` arrives."
)


def create_app(settings: Settings | None = None) -> ServiceApp:
    """The customers ASGI app; the database and the consumer open in its lifespan."""
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, migrations="shopmesh.customers:migrations")
    units = runtime.units(CustomersUnitOfWork)
    return create_service_app(
        runtime,
        title="ShopMesh customers",
        description=DESCRIPTION,
        routers=[router],
        dependencies=[CustomersDependency.given(CustomerService(units))],
        consumers=[user_events_consumer(settings, units)],
    )


def run() -> None:
    """Entry point of ``shopmesh-customers``."""
    settings = Settings()
    serve(create_app(settings), settings)
