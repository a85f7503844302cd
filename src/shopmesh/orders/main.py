"""Wiring of the orders service: settings, use cases, the durable consumer and the live listener."""

from __future__ import annotations

import uuid
from typing import Any

from shopmesh.kit.app import Dependency, Provision, ServiceApp, create_service_app
from shopmesh.kit.retention import RetentionRule
from shopmesh.kit.runner import serve
from shopmesh.kit.runtime import ServiceRuntime, Work
from shopmesh.orders.api import HubDependency, OrdersDependency, SettingsDependency, router
from shopmesh.orders.consumers import payment_events_consumer
from shopmesh.orders.domain import TOPIC
from shopmesh.orders.live import LiveListener, StatusHub
from shopmesh.orders.reaper import IntentReaper
from shopmesh.orders.remote import CustomersClient, PendingReleases, ProductsClient
from shopmesh.orders.repository import OrdersUnitOfWork
from shopmesh.orders.repository.tables import idempotency_record
from shopmesh.orders.service import OrderService
from shopmesh.orders.settings import Settings

# No route uses it: it is there for whoever holds the app (tests wait until it listens).
ListenerDependency = Dependency[LiveListener]("live listener")

DESCRIPTION = (
    "Place, list and cancel orders (stock reserved at products first), the events "
    "`order.created` / `order.paid` / `order.payment_declined` / `order.cancelled` on "
    "`order-events`, `payment.authorized` / `payment.declined` applied, each dispatch decided "
    "when the dispatcher asks, and a live status stream (Server-Sent Events) fed by every "
    "instance's own listener."
)


def create_app(settings: Settings | None = None) -> ServiceApp:
    """The orders ASGI app; nothing connects until its lifespan starts."""
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings,
        migrations="shopmesh.orders:migrations",
        produces=[TOPIC],
        retention=retention_rules(settings),
    )
    units = runtime.units(OrdersUnitOfWork)
    products = ProductsClient(runtime.client)
    hub = StatusHub(queue_size=settings.stream_queue_size)
    # Releases products could not take (it was away) are retried in the background.
    pending = PendingReleases(products)
    orders = OrderService(
        units,
        products=products,
        customers=CustomersClient(runtime.client),
        # Without Kafka nobody else hears our changes: tell this process's streams directly.
        notify=None if settings.kafka_enabled else hub.publish,
        lookup_timeout=settings.lookup_timeout,
        pending=pending,
        require_payment=settings.require_payment,
    )
    reaper = IntentReaper(
        units, products, grace=settings.reservation_grace, interval=settings.reaper_interval
    )
    background: list[Work] = [pending.run, reaper.run]
    dependencies: list[Provision[Any]] = [
        OrdersDependency.given(orders),
        HubDependency.given(hub),
        SettingsDependency.given(settings),
    ]
    if settings.kafka_enabled:
        listener = LiveListener(
            units,
            hub,
            bootstrap=settings.kafka_bootstrap,
            group_id=f"{settings.live_group_prefix}-{uuid.uuid4().hex[:12]}",
            topic=TOPIC,
            replication=settings.kafka_replication,
            namespace=settings.namespace,
        )
        background.append(listener.run)
        dependencies.append(ListenerDependency.given(listener))
    return create_service_app(
        runtime,
        title="ShopMesh orders",
        description=DESCRIPTION,
        routers=[router],
        dependencies=dependencies,
        consumers=[payment_events_consumer(settings, units)],
        background=background,
    )


def retention_rules(settings: Settings) -> list[RetentionRule]:
    """Orders' own tables kept bounded (kit.retention): Idempotency-Key answers."""
    keys = idempotency_record
    return [RetentionRule(keys, keys.c.created_at, settings.idempotency_retention)]


def run() -> None:
    """Entry point of ``shopmesh-orders``."""
    settings = Settings()
    serve(create_app(settings), settings)
