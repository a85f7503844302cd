"""HTTP API of orders, under ``/api/orders`` (through the gateway as a user route)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

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
from shopmesh.orders.domain import OrderStatus
from shopmesh.orders.live import StatusHub
from shopmesh.orders.schemas import (
    BODY_SCHEMA,
    DispatchesCreate,
    DispatchesPublic,
    OrderDetail,
    OrderPublic,
    OrdersPlaced,
    PaymentSettingsPublic,
    parse_lines,
)
from shopmesh.orders.service import OrderService
from shopmesh.orders.settings import Settings
from shopmesh.orders.stream import MEDIA_TYPE, status_stream

OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="The order's id.")]


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
        "requestBody": {"required": True, "content": {"application/json": {"schema": BODY_SCHEMA}}}
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
