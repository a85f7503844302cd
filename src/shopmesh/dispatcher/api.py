"""HTTP API of the dispatcher, under ``/api/dispatcher`` (administrators only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, BeforeValidator

from shopmesh.dispatcher.domain import Delivery, DeliveryStatus, Shipment, ShipmentStatus
from shopmesh.dispatcher.service import DispatchService
from shopmesh.dispatcher.webhooks import WebhookNotifier
from shopmesh.kit.app import AdminUser, Dependency
from shopmesh.kit.validation import MAX_ID, Offset
from shopmesh.kit.validation import MoneyNumber as Money


def _blank_is_none(value: Any) -> Any:
    # `?status=` (an empty filter from a form) means "any status", not a bad value.
    return None if value == "" else value


Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many (1..1000).")]
StatusFilter = Annotated[
    ShipmentStatus | None,
    BeforeValidator(_blank_is_none),
    Query(description="Only shipments in this status: pending, dispatched or cancelled."),
]
OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="The order's id.")]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_ID, description="The delivery's id.")]


class ShipmentPublic(BaseModel):
    id: int
    order_id: int
    reference: str
    customer_id: int
    product_id: int
    quantity: int
    total_cost: Money
    status: ShipmentStatus
    ordered_at: datetime
    created_at: datetime
    due_at: datetime
    dispatched_at: datetime | None
    cancelled_at: datetime | None

    @classmethod
    def of(cls, shipment: Shipment) -> ShipmentPublic:
        return cls(
            id=shipment.id,
            order_id=shipment.order_id,
            reference=shipment.reference,
            customer_id=shipment.customer_id,
            product_id=shipment.product_id,
            quantity=shipment.quantity,
            total_cost=shipment.total_cost,
            status=shipment.status,
            ordered_at=shipment.ordered_at,
            created_at=shipment.created_at,
            due_at=shipment.due_at,
            dispatched_at=shipment.dispatched_at,
            cancelled_at=shipment.cancelled_at,
        )


class DeliveryPublic(BaseModel):
    id: int
    order_id: int
    url: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryPublic:
        return cls(
            id=delivery.id,
            order_id=delivery.order_id,
            url=delivery.url,
            status=delivery.status,
            attempts=delivery.attempts,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            next_attempt_at=delivery.next_attempt_at,
            delivered_at=delivery.delivered_at,
        )


DispatcherDependency = Dependency[DispatchService]("dispatcher")
WebhooksDependency = Dependency[WebhookNotifier]("webhooks")
Dispatcher = Annotated[DispatchService, Depends(DispatcherDependency)]
Webhooks = Annotated[WebhookNotifier, Depends(WebhooksDependency)]

router = APIRouter(prefix="/api/dispatcher", tags=["dispatcher"])


@router.get("/shipments")
async def list_shipments(
    _admin: AdminUser,
    dispatcher: Dispatcher,
    status: StatusFilter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[ShipmentPublic]:
    """Shipments, newest first, optionally only those in one status."""
    found = await dispatcher.list_shipments(status=status, limit=limit, offset=offset)
    return [ShipmentPublic.of(s) for s in found]


@router.get("/shipments/{order_id}")
async def get_shipment(
    _admin: AdminUser, dispatcher: Dispatcher, order_id: OrderId
) -> ShipmentPublic:
    """The shipment of one order (404 ``shipment_not_found`` if its order was never seen)."""
    return ShipmentPublic.of(await dispatcher.shipment_of_order(order_id))


@router.get("/webhooks/failed")
async def failed_webhooks(
    _admin: AdminUser, webhooks: Webhooks, limit: Limit = 100, offset: Offset = 0
) -> list[DeliveryPublic]:
    """Webhook deliveries given up on after every attempt failed, newest first."""
    return [DeliveryPublic.of(d) for d in await webhooks.failed(limit=limit, offset=offset)]


@router.post("/webhooks/{delivery_id}/retry", status_code=202)
async def retry_webhook(
    _admin: AdminUser, webhooks: Webhooks, delivery_id: DeliveryId
) -> DeliveryPublic:
    """Queue a failed delivery again with a fresh set of attempts (409 unless it failed)."""
    return DeliveryPublic.of(await webhooks.retry(delivery_id))
