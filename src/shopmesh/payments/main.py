"""Wiring of the payments service: settings, runtime, use cases, app."""

from __future__ import annotations

from shopmesh.kit.app import ServiceApp, create_service_app
from shopmesh.kit.retention import RetentionRule
from shopmesh.kit.runner import serve
from shopmesh.kit.runtime import ServiceRuntime
from shopmesh.payments.api import PaymentsDependency, router
from shopmesh.payments.consumers import order_consumer
from shopmesh.payments.domain import PAYMENT_EVENTS, TransactionCreated
from shopmesh.payments.repository import PaymentsUnitOfWork, idempotency_record
from shopmesh.payments.service import PaymentService
from shopmesh.payments.settings import Settings

DESCRIPTION = (
    "Transactions with a per-user limit, pay-all, and the events "
    "`transaction.created` / `transaction.paid` / `transaction.voided` on the `transactions` "
    "topic; orders charged on `order.created` (`payment.authorized` / `payment.declined` on "
    "`payment-events`) and their charges voided on `order.cancelled`."
)


def create_app(settings: Settings | None = None) -> ServiceApp:
    """The payments ASGI app; nothing connects until its lifespan starts."""
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings,
        migrations="shopmesh.payments:migrations",
        produces=[TransactionCreated.topic, PAYMENT_EVENTS],
        retention=retention_rules(settings),
    )
    units = runtime.units(PaymentsUnitOfWork)
    payments = PaymentService(units, policy=settings.limit_policy())
    return create_service_app(
        runtime,
        title="ShopMesh payments",
        description=DESCRIPTION,
        routers=[router],
        dependencies=[PaymentsDependency.given(payments)],
        consumers=[order_consumer(settings, units, payments=payments)],
    )


def retention_rules(settings: Settings) -> list[RetentionRule]:
    """Payments' own tables kept bounded (kit.retention): Idempotency-Key answers."""
    keys = idempotency_record
    return [RetentionRule(keys, keys.c.created_at, settings.idempotency_retention)]


def run() -> None:
    settings = Settings()
    serve(create_app(settings), settings)
