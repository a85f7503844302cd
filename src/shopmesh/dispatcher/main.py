"""Wiring of the dispatcher: the app, the order consumer, the dispatch loop, the webhook worker."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from shopmesh.dispatcher.api import DispatcherDependency, WebhooksDependency, router
from shopmesh.dispatcher.consumers import order_consumer
from shopmesh.dispatcher.domain import ORDER_EVENTS, DeliveryStatus
from shopmesh.dispatcher.remote import OrdersClient
from shopmesh.dispatcher.repository import DispatcherUnitOfWork
from shopmesh.dispatcher.repository.tables import WebhookDeliveryRow
from shopmesh.dispatcher.service import DispatchService
from shopmesh.dispatcher.settings import Settings
from shopmesh.dispatcher.webhooks import WebhookNotifier
from shopmesh.kit.app import ServiceApp, create_service_app
from shopmesh.kit.retention import RetentionRule
from shopmesh.kit.runner import serve
from shopmesh.kit.runtime import ServiceRuntime

DESCRIPTION = (
    "Consumes `order.paid` (or `order.created` needing no payment) / `order.cancelled` from "
    "`order-events`; after a handling delay asks orders to mark each order Dispatched and "
    "ships only what orders confirmed, once: announces `order.dispatched` and calls webhooks."
)


def create_app(settings: Settings | None = None) -> ServiceApp:
    """The dispatcher ASGI app; nothing connects until its lifespan starts."""
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings,
        migrations="shopmesh.dispatcher:migrations",
        produces=[ORDER_EVENTS],
        retention=retention_rules(settings),
    )
    units = runtime.units(DispatcherUnitOfWork)
    webhooks = WebhookNotifier(units, settings=settings)
    dispatcher = DispatchService(
        units,
        orders=OrdersClient(runtime.client),
        settings=settings,
        on_dispatched=webhooks.notify,
    )
    return create_service_app(
        runtime,
        title="ShopMesh dispatcher",
        description=DESCRIPTION,
        routers=[router],
        dependencies=[DispatcherDependency.given(dispatcher), WebhooksDependency.given(webhooks)],
        consumers=[order_consumer(settings, units, dispatcher=dispatcher)],
        background=[dispatcher.run, webhooks.run],
    )


def retention_rules(settings: Settings) -> list[RetentionRule]:
    """The dispatcher's own tables kept bounded (kit.retention): delivered webhooks (the
    failed ones stay for the admins)."""
    deliveries = cast(Table, WebhookDeliveryRow.__table__)
    delivered = deliveries.c.status == DeliveryStatus.DELIVERED.value
    return [
        RetentionRule(
            deliveries, deliveries.c.delivered_at, settings.webhook_retention, only=delivered
        )
    ]


def run() -> None:
    """Entry point of ``shopmesh-dispatcher``."""
    settings = Settings()
    serve(create_app(settings), settings)
