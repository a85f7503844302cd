"""Wiring of the payments service: settings, app, start-up."""

from __future__ import annotations

from typing import Any

from shopmesh.kit.app import ServiceRuntime, create_service_app
from shopmesh.kit.retention import RetentionRule
from shopmesh.kit.runner import serve
from shopmesh.payments.api import router
from shopmesh.payments.repository import idempotency_record
from shopmesh.payments.service import PaymentService
from shopmesh.payments.settings import Settings

DESCRIPTION = (
    "Transactions with a per-user limit, pay-all, and the events "
    "`transaction.created` / `transaction.paid` on the `transactions` topic."
)


def create_app(settings: Settings | None = None) -> Any:
    """The payments ASGI app; nothing connects until its lifespan starts."""
    settings = settings or Settings()

    async def on_startup(runtime: ServiceRuntime) -> None:
        runtime.state["payments"] = PaymentService(runtime, policy=settings.limit_policy())

    return create_service_app(
        settings,
        title="ShopMesh payments",
        description=DESCRIPTION,
        routers=[router],
        migrations="shopmesh.payments:migrations",
        produces=["transactions"],
        on_startup=on_startup,
        retention=retention_rules(settings),
    )


def retention_rules(settings: Settings) -> list[RetentionRule]:
    """Payments' own tables kept bounded (kit.retention): Idempotency-Key answers."""
    keys = idempotency_record
    return [RetentionRule(keys, keys.c.created_at, settings.idempotency_retention)]


def run() -> None:
    settings = Settings()
    serve(create_app(settings), settings)
