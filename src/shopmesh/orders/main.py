"""Wiring of the orders service: settings, app, the durable consumer and the live listener."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table

from shopmesh.kit.app import ServiceRuntime, create_service_app
from shopmesh.kit.retention import RetentionRule
from shopmesh.kit.runner import serve
from shopmesh.orders.api import router
from shopmesh.orders.consumers import order_events_consumer
from shopmesh.orders.domain import TOPIC
from shopmesh.orders.live import LiveListener, StatusHub
from shopmesh.orders.reaper import IntentReaper
from shopmesh.orders.remote import PendingReleases
from shopmesh.orders.repository import IdempotencyRecordRow
from shopmesh.orders.service import OrderService
from shopmesh.orders.settings import Settings

DESCRIPTION = (
    "Place, list and cancel orders (stock reserved at products first), the events "
    "`order.created` / `order.cancelled` on `order-events`, `order.dispatched` applied, "
    "and a live status stream (Server-Sent Events) fed by every instance's own listener."
)


def create_app(settings: Settings | None = None) -> Any:
    """The orders ASGI app; nothing connects until its lifespan starts."""
    settings = settings or Settings()

    async def on_startup(runtime: ServiceRuntime) -> None:
        hub = StatusHub(queue_size=settings.stream_queue_size)
        runtime.state["hub"] = hub
        # Without Kafka nobody else hears our changes: tell this process's streams directly.
        notify = None if settings.kafka_enabled else hub.publish
        # Releases products could not take (it was away) are retried in the background.
        pending = PendingReleases(runtime.client)
        runtime.background.append(pending.run)
        reaper = IntentReaper(
            runtime, grace=settings.reservation_grace, interval=settings.reaper_interval
        )
        runtime.background.append(reaper.run)
        runtime.state["orders"] = OrderService(
            runtime, notify=notify, lookup_timeout=settings.lookup_timeout, pending=pending
        )
        if settings.kafka_enabled:
            listener = LiveListener(
                runtime.db,
                hub,
                bootstrap=settings.kafka_bootstrap,
                group_id=f"{settings.live_group_prefix}-{uuid.uuid4().hex[:12]}",
                topic=TOPIC,
                replication=settings.kafka_replication,
            )
            runtime.state["live"] = listener
            runtime.background.append(listener.run)

    return create_service_app(
        settings,
        title="ShopMesh orders",
        description=DESCRIPTION,
        routers=[router],
        migrations="shopmesh.orders:migrations",
        produces=[TOPIC],
        consumers=lambda runtime: [order_events_consumer(runtime.db, settings)],
        on_startup=on_startup,
        retention=retention_rules(settings),
    )


def retention_rules(settings: Settings) -> list[RetentionRule]:
    """Orders' own tables kept bounded (kit.retention): Idempotency-Key answers."""
    keys = cast(Table, IdempotencyRecordRow.__table__)
    return [RetentionRule(keys, keys.c.created_at, settings.idempotency_retention)]


def run() -> None:
    """Entry point of ``shopmesh-orders``."""
    settings = Settings()
    serve(create_app(settings), settings)
