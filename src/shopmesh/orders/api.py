"""HTTP API of orders, under ``/api/orders`` (through the gateway as a user route)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, Strict, TypeAdapter, ValidationError

from shopmesh.kit.app import (
    CurrentUser,
    Dependency,
    IdempotencyKey,
    ServiceCaller,
    error_responses,
    mark_replayed,
)
from shopmesh.kit.errors import Forbidden
from shopmesh.kit.jwt import Principal
from shopmesh.kit.validation import MAX_ID, Offset
from shopmesh.kit.validation import MoneyNumber as Money
from shopmesh.orders.domain import MAX_LINES, MAX_QUANTITY, Order, OrderLine, OrderStatus
from shopmesh.orders.live import StatusHub
from shopmesh.orders.service import OrderService, OrderView
from shopmesh.orders.settings import Settings
from shopmesh.orders.stream import MEDIA_TYPE, status_stream

Id = Annotated[int, Strict(), Field(ge=1, le=MAX_ID)]
OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="The order's id.")]


class OrderLineCreate(BaseModel):
    """One product and how many. Prices, totals and customer fields sent along are ignored."""

    model_config = ConfigDict(extra="ignore")

    product_id: Id
    quantity: Annotated[int, Strict(), Field(ge=1, le=MAX_QUANTITY)]


Lines = Annotated[list[OrderLineCreate], Field(min_length=1, max_length=MAX_LINES)]


class OrderBatchCreate(BaseModel):
    """Several lines at once (a cart), each becoming an order."""

    model_config = ConfigDict(extra="ignore")

    items: Lines


_LINES = TypeAdapter(Lines)
_LINE_SCHEMA = OrderLineCreate.model_json_schema()
_LIST_SCHEMA = {"type": "array", "items": _LINE_SCHEMA, "minItems": 1, "maxItems": MAX_LINES}
_BODY_SCHEMA = {
    "oneOf": [
        _LINE_SCHEMA,
        _LIST_SCHEMA,
        {"type": "object", "properties": {"items": _LIST_SCHEMA}, "required": ["items"]},
    ]
}
_NOT_LINES = {
    "type": "invalid_body",
    "loc": ("body",),
    "msg": "request body must be a JSON object or array (Content-Type: application/json)",
}


def parse_lines(body: Any) -> tuple[list[OrderLine], bool]:
    """The requested lines, and whether the body was a single line (answered with one order)."""
    try:
        if isinstance(body, list):
            lines = _LINES.validate_python(body)
        elif isinstance(body, dict) and "items" in body:
            lines = OrderBatchCreate.model_validate(body).items
        elif isinstance(body, dict):
            lines = [OrderLineCreate.model_validate(body)]
        else:
            raise RequestValidationError([_NOT_LINES])
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None
    single = isinstance(body, dict) and "items" not in body
    return [OrderLine(line.product_id, line.quantity) for line in lines], single


class OrderPublic(BaseModel):
    id: int
    reference: str = Field(description="The order's UUID; also its stock reservation's id.")
    customer_id: int
    product_id: int
    product_name: str
    quantity: int
    per_cost: Money
    total_cost: Money
    currency: str
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    updated_by: str
    checkout_id: str = Field(description="The checkout (one POST) the order was placed in.")
    transaction_id: int | None = Field(
        description="The payments transaction that charged the order (null until it is Paid)."
    )
    decline_reason: str | None = Field(
        description="Why payments declined the order (`limit_exceeded`...), else null."
    )

    @classmethod
    def of(cls, order: Order) -> OrderPublic:
        return cls(
            id=order.id,
            reference=order.reference,
            customer_id=order.customer_id,
            product_id=order.product_id,
            product_name=order.product_name,
            quantity=order.quantity,
            per_cost=order.per_cost,
            total_cost=order.total_cost,
            currency=order.currency,
            status=order.status,
            created_at=order.created_at,
            updated_at=order.updated_at,
            updated_by=order.updated_by,
            checkout_id=order.checkout_id,
            transaction_id=order.transaction_id,
            decline_reason=order.decline_reason,
        )


class OrdersPlaced(BaseModel):
    """Several orders placed at once (a cart), as the commerce seed's app reads the answer."""

    message: str
    order_ids: list[int]
    order_count: int
    orders: list[OrderPublic]
    checkout_id: str = Field(description="The checkout all these orders share.")
    total: Money = Field(description="What the checkout costs: the sum of the lines' total_cost.")

    @classmethod
    def of(cls, orders: list[OrderPublic]) -> OrdersPlaced:
        return cls(
            message="Orders placed successfully",
            order_ids=[order.id for order in orders],
            order_count=len(orders),
            orders=orders,
            checkout_id=orders[0].checkout_id if orders else "",
            total=sum((order.total_cost for order in orders), Decimal("0.00")),
        )


class OrderDetail(OrderPublic):
    product: dict[str, Any] | None = Field(
        description="The product as products shows it now; null when it could not be asked."
    )
    customer: dict[str, Any] | None = Field(
        description="The caller's customer profile; null if there is none or it was unavailable."
    )

    @classmethod
    def of_view(cls, view: OrderView) -> OrderDetail:
        public = OrderPublic.of(view.order).model_dump()
        return cls(**public, product=view.product, customer=view.customer)


class DispatchesCreate(BaseModel):
    """The orders the dispatcher would ship now (its due shipments)."""

    order_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)]


class DispatchesPublic(BaseModel):
    """Orders' decision: ship the ``dispatched`` ones; never the ``refused`` ones (cancelled,
    declined, unknown)."""

    dispatched: list[int]
    refused: list[int]


class PaymentSettingsPublic(BaseModel):
    payment_required: bool = Field(
        description="Orders are charged by payments before they ship (`Created` then means "
        "awaiting payment); false: the commerce seed's flow, shipped unpaid."
    )


OrdersDependency = Dependency[OrderService]("orders")
HubDependency = Dependency[StatusHub]("status hub")
SettingsDependency = Dependency[Settings]("settings")


async def customer_principal(user: CurrentUser) -> Principal:
    """A person: orders belong to users; a service token (user 0) owns none."""
    if user.is_service:
        raise Forbidden("orders are placed and read by customers, not services")
    return user


Customer = Annotated[Principal, Depends(customer_principal)]
Orders = Annotated[OrderService, Depends(OrdersDependency)]
Hub = Annotated[StatusHub, Depends(HubDependency)]
OrdersSettings = Annotated[Settings, Depends(SettingsDependency)]

router = APIRouter(prefix="/api/orders", tags=["orders"])


@router.post(
    "",
    status_code=201,
    response_model=OrderPublic | OrdersPlaced,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _BODY_SCHEMA}}}
    },
)
async def place_orders(
    user: Customer,
    orders: Orders,
    response: Response,
    body: Annotated[Any, Body(include_in_schema=False)] = None,
    idempotency_key: IdempotencyKey = None,
) -> OrderPublic | OrdersPlaced:
    """Order one product (`{product_id, quantity}` → the order), or several (a JSON array, or
    `{items: [...]}` → `{message, order_ids, order_count, orders}`). Stock is reserved at
    products first: 409 `out_of_stock` or 404 `product_not_found` create nothing. Prices,
    totals, customer and status come from the platform; a client's are ignored."""
    lines, single = parse_lines(body)
    placed = await orders.place_orders(user.user_id, lines, idempotency_key=idempotency_key)
    mark_replayed(response, placed)
    public = [OrderPublic.of(order) for order in placed.value]
    return public[0] if single and public else OrdersPlaced.of(public)


@router.get("")
async def list_orders(
    user: Customer,
    orders: Orders,
    request: Request,
    status: Annotated[OrderStatus | None, Query(description="Only orders in this status.")] = None,
    # At most 100: products answers one look-up of up to 100 ids, and a page names no more.
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    offset: Offset = 0,
) -> list[OrderDetail]:
    """The caller's orders, newest first, each with its `product` and the caller's `customer`."""
    views = await orders.list_orders(
        user.user_id,
        authorization=request.headers["authorization"],
        status=status,
        limit=limit,
        offset=offset,
    )
    return [OrderDetail.of_view(view) for view in views]


@router.get(
    "/stream",
    status_code=200,
    response_class=StreamingResponse,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "Server-Sent Events."}},
)
async def stream_statuses(user: Customer, hub: Hub, settings: OrdersSettings) -> StreamingResponse:
    """Live status of the caller's orders as Server-Sent Events: `event: status` with
    `data: {"order_id", "status", "updated_at"}` on each change, and a comment as keep-alive."""
    return status_stream(hub, user.user_id, keepalive=settings.stream_keepalive)


@router.get("/settings")
async def order_settings(user: CurrentUser, settings: OrdersSettings) -> PaymentSettingsPublic:
    """How this deployment runs the order saga (for pages that explain an order's state)."""
    return PaymentSettingsPublic(payment_required=settings.require_payment)


@router.post(
    "/dispatches",
    responses=error_responses({401: "no or bad token", 403: "not a platform service"}),
)
async def confirm_dispatches(
    body: DispatchesCreate, caller: ServiceCaller, orders: Orders
) -> DispatchesPublic:
    """The dispatcher asks before it ships (internal): each order still Paid (or Created
    without payment) becomes Dispatched; a cancelled one is refused. Orders' answer is the
    one decision between a cancel and a dispatch. Asking again answers the same."""
    dispatched = {order.id for order in await orders.confirm_dispatches(body.order_ids)}
    asked = list(dict.fromkeys(body.order_ids))
    return DispatchesPublic(
        dispatched=[i for i in asked if i in dispatched],
        refused=[i for i in asked if i not in dispatched],
    )


@router.get("/{order_id}")
async def get_order(
    order_id: OrderId, user: Customer, orders: Orders, request: Request
) -> OrderDetail:
    """One of the caller's orders (404 for anyone else's)."""
    view = await orders.get_order(
        user.user_id, order_id, authorization=request.headers["authorization"]
    )
    return OrderDetail.of_view(view)


@router.post("/{order_id}/cancel")
async def cancel_order(order_id: OrderId, user: Customer, orders: Orders) -> OrderPublic:
    """Cancel one of the caller's orders before it is dispatched (Created, Paid or Payment
    declined): its stock is released and its charge voided, once; cancelling a cancelled
    order returns it; a dispatched one is 409 `already_dispatched`."""
    return OrderPublic.of(await orders.cancel_order(user.user_id, order_id))
