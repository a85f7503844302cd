"""Wiring of the dispatcher: the app, the order consumer, the dispatch loop, the webhook worker."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table

from shopmesh.dispatcher.api import router
from shopmesh.dispatcher.consumers import order_consumer
from shopmesh.dispatcher.domain import ORDER_EVENTS, DeliveryStatus
from shopmesh.dispatcher.repository.tables import WebhookDeliveryRow
from shopmesh.dispatcher.service import DispatchService
from shopmesh.dispatcher.settings import Settings
from shopmesh.dispatcher.webhooks import WebhookNotifier
from shopmesh.kit.app import ServiceRuntime, create_service_app
from shopmesh.kit.retention import RetentionRule
from shopmesh.kit.runner import serve

DESCRIPTION = (
    "Consumes `order.created` / `order.cancelled` from `order-events`, dispatches each "
    "order once after a handling delay, announces `order.dispatched` and calls webhooks."
)


def create_app(settings: Settings | None = None) -> Any:
    """The dispatcher ASGI app; nothing connects until its lifespan starts."""
    settings = settings or Settings()

    def dispatcher_of(runtime: ServiceRuntime) -> DispatchService:
        # Built once per runtime, by whichever of the consumer factory and start-up runs first.
        if "dispatcher" not in runtime.state:
            webhooks = WebhookNotifier(runtime, settings=settings)
            runtime.state["webhooks"] = webhooks
            runtime.state["dispatcher"] = DispatchService(
                runtime, settings=settings, on_dispatched=webhooks.notify
            )
        dispatcher: DispatchService = runtime.state["dispatcher"]
        return dispatcher

    async def on_startup(runtime: ServiceRuntime) -> None:
        runtime.background.append(dispatcher_of(runtime).run)
        runtime.background.append(runtime.state["webhooks"].run)

    return create_service_app(
        settings,
        title="ShopMesh dispatcher",
        description=DESCRIPTION,
        routers=[router],
        migrations="shopmesh.dispatcher:migrations",
        produces=[ORDER_EVENTS],
        consumers=lambda runtime: [
            order_consumer(runtime.db, settings, dispatcher=dispatcher_of(runtime))
        ],
        on_startup=on_startup,
        retention=retention_rules(settings),
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
