"""Dispatcher domain: shipments, the order events it reads and writes, webhook rules.

The reader model is the dispatcher's own view of the orders service's
events (services never import each other): only the fields it needs,
validated strictly, so a payload that breaks the contract fails (and the
consumer dead-letters it) instead of shipping something wrong. Pure: no I/O,
no web or database framework.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

import orjson
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from shopmesh.kit.errors import Conflict, NotFound
from shopmesh.kit.events import Event
from shopmesh.kit.validation import MAX_ID, MoneyNumber, json_number

ORDER_EVENTS = "order-events"
PRODUCER = "dispatcher"
SIGNATURE_PREFIX = "sha256="


class ShipmentStatus(StrEnum):
    PENDING = "pending"
    DISPATCHED = "dispatched"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def _as_utc(value: datetime) -> datetime:
    # Orders writes UTC; a timestamp without an offset is read as UTC rather than refused.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Id = Annotated[int, Field(strict=True, gt=0, le=MAX_ID)]
Cost = Annotated[
    Decimal,
    BeforeValidator(json_number),
    Field(ge=0, max_digits=12, decimal_places=2, allow_inf_nan=False),
]
UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


class OrderSnapshot(BaseModel):
    """An order as ``order.created``, ``order.paid`` and ``order.cancelled`` carry it (the
    fields we use)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: Id
    reference: Annotated[str, Field(min_length=1, max_length=64)]
    customer_id: Id
    product_id: Id
    quantity: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]
    total_cost: Cost
    created_at: UtcDatetime
    # order.created only: the order waits for payment (order.paid) before it may ship. Absent
    # (an order of the commerce seed's flow): it ships on order.created.
    payment_required: bool = False


class DispatchDecision(BaseModel):
    """Orders' answer when asked to ship orders: it marked the ``dispatched`` ones Dispatched
    (ship them), and ``refused`` the others (cancelled, declined or unknown: never ship)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    dispatched: list[Id]
    refused: list[Id]


@dataclass(frozen=True, slots=True)
class Shipment:
    """An order the dispatcher will send (or sent, or was told not to)."""

    id: int
    order_id: int
    reference: str
    customer_id: int
    product_id: int
    quantity: int
    total_cost: Decimal
    status: ShipmentStatus
    ordered_at: datetime  # the order's own created_at
    created_at: datetime  # when the dispatcher recorded it
    due_at: datetime
    dispatched_at: datetime | None = None
    cancelled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One ``order.dispatched`` notification to one webhook URL."""

    id: int
    shipment_id: int
    order_id: int
    url: str
    payload: str  # the JSON body, the same bytes on every attempt
    attempts: int
    status: DeliveryStatus
    next_attempt_at: datetime
    created_at: datetime
    last_error: str | None = None
    delivered_at: datetime | None = None


class OrderDispatched(Event):
    """An order left the warehouse (contract: commerce issue, ``order.dispatched``); sent only
    for an order that orders had marked Dispatched, never for a cancelled one."""

    topic: ClassVar[str] = ORDER_EVENTS
    event_type: Literal["order.dispatched"] = "order.dispatched"
    id: int
    reference: str
    customer_id: int
    product_id: int
    quantity: int
    total_cost: MoneyNumber
    status: Literal["Dispatched"] = "Dispatched"
    created_at: datetime
    dispatched_at: datetime

    def key(self) -> str:
        return str(self.id)

    @classmethod
    def of(cls, shipment: Shipment) -> OrderDispatched:
        if shipment.dispatched_at is None:
            raise ValueError("shipment was not dispatched")
        return cls(
            producer=PRODUCER,
            id=shipment.order_id,
            reference=shipment.reference,
            customer_id=shipment.customer_id,
            product_id=shipment.product_id,
            quantity=shipment.quantity,
            total_cost=shipment.total_cost,
            created_at=shipment.ordered_at,
            dispatched_at=shipment.dispatched_at,
        )

    def webhook_body(self) -> bytes:
        """What receivers get: the order fields plus ``event_id`` (to drop repeats by)."""
        fields = self.model_dump(mode="json", exclude={"event_type", "occurred_at", "producer"})
        return orjson.dumps(fields)


PRODUCED_EVENTS: tuple[type[Event], ...] = (OrderDispatched,)


def sign(secret: str, *, timestamp: int, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` (see the webhooks module)."""
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def retry_delay(attempts: int, *, base: float, cap: float) -> float:
    """Seconds to wait after ``attempts`` failed calls: base, 2*base, 4*base... at most cap."""
    exponent = min(max(attempts - 1, 0), 62)  # 2**62 already dwarfs any cap
    return float(min(base * 2**exponent, cap))


class ShipmentNotFound(NotFound):
    code = "shipment_not_found"


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"


class DeliveryNotFailed(Conflict):
    code = "delivery_not_failed"
