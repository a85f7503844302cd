"""Wiring of the payments service: settings, runtime, use cases, app."""

from __future__ import annotations

from shopmesh.kit.app import ServiceApp, create_service_app
from shopmesh.kit.runner import serve
from shopmesh.kit.runtime import ServiceRuntime
from shopmesh.payments.api import PaymentsDependency, router
from shopmesh.payments.domain import TransactionCreated
from shopmesh.payments.repository import PaymentsUnitOfWork
from shopmesh.payments.service import PaymentService
from shopmesh.payments.settings import Settings

DESCRIPTION = (
    "Transactions with a per-user limit, pay-all, and the events "
    "`transaction.created` / `transaction.paid` on the `transactions` topic."
)


def create_app(settings: Settings | None = None) -> ServiceApp:
    """The payments ASGI app; nothing connects until its lifespan starts."""
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings, migrations="shopmesh.payments:migrations", produces=[TransactionCreated.topic]
    )
    payments = PaymentService(runtime.units(PaymentsUnitOfWork), policy=settings.limit_policy())
    return create_service_app(
        runtime,
        title="ShopMesh payments",
        description=DESCRIPTION,
        routers=[router],
        dependencies=[PaymentsDependency.given(payments)],
    )


def run() -> None:
    settings = Settings()
    serve(create_app(settings), settings)
