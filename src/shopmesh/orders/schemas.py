"""Request and response schemas of the orders API (the shapes clients see in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, Strict, TypeAdapter, ValidationError

from shopmesh.kit.validation import MAX_ID
from shopmesh.kit.validation import MoneyNumber as Money
from shopmesh.orders.domain import MAX_LINES, MAX_QUANTITY, Order, OrderLine, OrderStatus
from shopmesh.orders.service import OrderView

Id = Annotated[int, Strict(), Field(ge=1, le=MAX_ID)]


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
BODY_SCHEMA = {
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
