"""HTTP API of payments, under ``/api/payments`` (the gateway maps ``/payment/*`` here)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shopmesh.kit.app import CurrentUser, Dependency, IdempotencyKey, mark_replayed
from shopmesh.kit.errors import Forbidden
from shopmesh.kit.jwt import Principal
from shopmesh.kit.validation import MoneyNumber as Money
from shopmesh.kit.validation import Offset, StorableText
from shopmesh.payments.domain import (
    MAX_DESCRIPTION_LENGTH,
    LimitScope,
    PayResult,
    Summary,
    Transaction,
    parse_amount,
)
from shopmesh.payments.service import PaymentService


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    return value


UserId = Annotated[int, BeforeValidator(_not_bool)]
Amount = Annotated[Money, BeforeValidator(parse_amount)]
UserIdQuery = Annotated[
    int | None,
    Query(description="Optional; must be the caller's own id (the token decides)."),
]


class TransactionCreate(BaseModel):
    """A new charge. ``user_id`` is optional and must be the caller's own id."""

    model_config = ConfigDict(extra="ignore")

    amount: Amount = Field(description="More than 0, at most 2 decimals.", examples=[49.99])
    description: StorableText | None = Field(default="", max_length=MAX_DESCRIPTION_LENGTH)
    user_id: UserId | None = None


class TransactionPublic(BaseModel):
    id: int
    user_id: int
    amount: Money
    description: str
    is_paid: bool
    created_at: datetime
    order_id: int | None = Field(description="The order this transaction charged, if any.")
    is_voided: bool = Field(
        description="Voided (its order was cancelled): it counts toward nothing any more."
    )

    @classmethod
    def of(cls, tx: Transaction) -> TransactionPublic:
        return cls(
            id=tx.id,
            user_id=tx.user_id,
            amount=tx.amount,
            description=tx.description,
            is_paid=tx.is_paid,
            created_at=tx.created_at,
            order_id=tx.order_id,
            is_voided=tx.is_voided,
        )


class TransactionsPublic(BaseModel):
    """The payments seed's list answer: its client reads ``data.transactions``."""

    transactions: list[TransactionPublic]


class PayPublic(BaseModel):
    message: str
    transactions_paid: int

    @classmethod
    def of(cls, result: PayResult) -> PayPublic:
        return cls(message=result.message, transactions_paid=result.transactions_paid)


class SummaryPublic(BaseModel):
    total: Money = Field(description="Sum of the caller's transactions (voided ones excepted).")
    unpaid_total: Money = Field(
        description="Sum of the caller's unpaid transactions (voided ones excepted)."
    )
    limit: Money
    remaining: Money = Field(description="How much more may be charged now.")
    scope: LimitScope = Field(description="What the limit counts: all or unpaid.")

    @classmethod
    def of(cls, summary: Summary) -> SummaryPublic:
        return cls(
            total=summary.balance.total,
            unpaid_total=summary.balance.unpaid,
            limit=summary.policy.limit,
            remaining=summary.remaining,
            scope=summary.policy.scope,
        )


PaymentsDependency = Dependency[PaymentService]("payments")
Payments = Annotated[PaymentService, Depends(PaymentsDependency)]

router = APIRouter(prefix="/api/payments", tags=["payments"])


def _caller(principal: Principal, claimed: int | None) -> int:
    """The token's subject; a different ``user_id`` is refused, never obeyed (admins too)."""
    if claimed is not None and claimed != principal.user_id:
        raise Forbidden("user_id does not match the authenticated user")
    return principal.user_id


@router.post("/transactions", status_code=201)
async def create_transaction(
    body: TransactionCreate,
    user: CurrentUser,
    payments: Payments,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> TransactionPublic:
    """Record a transaction for the caller, refused (422 ``limit_exceeded``) past the limit."""
    user_id = _caller(user, body.user_id)
    outcome = await payments.create_transaction(
        user_id,
        amount=body.amount,
        description=body.description or "",
        idempotency_key=idempotency_key,
    )
    mark_replayed(response, outcome)
    return TransactionPublic.of(outcome.value)


Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/transactions")
async def list_transactions(
    user: CurrentUser,
    payments: Payments,
    user_id: UserIdQuery = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[TransactionPublic]:
    """The caller's transactions, newest first."""
    caller = _caller(user, user_id)
    transactions = await payments.list_transactions(caller, limit=limit, offset=offset)
    return [TransactionPublic.of(tx) for tx in transactions]


@router.get("/transactions/list")
async def list_transactions_seed(
    user: CurrentUser,
    payments: Payments,
    user_id: UserIdQuery = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> TransactionsPublic:
    """The caller's transactions, newest first, as ``{"transactions": [...]}`` (the payments
    seed's path and shape: ``GET /payment/transactions/list`` through the gateway)."""
    listed = await list_transactions(user, payments, user_id=user_id, limit=limit, offset=offset)
    return TransactionsPublic(transactions=listed)


@router.post("/transactions/pay")
async def pay_all(
    user: CurrentUser,
    payments: Payments,
    response: Response,
    user_id: UserIdQuery = None,
    idempotency_key: IdempotencyKey = None,
) -> PayPublic:
    """Mark all the caller's unpaid transactions paid."""
    outcome = await payments.pay_all(_caller(user, user_id), idempotency_key=idempotency_key)
    mark_replayed(response, outcome)
    return PayPublic.of(outcome.value)


@router.get("/summary")
async def summary(
    user: CurrentUser, payments: Payments, user_id: UserIdQuery = None
) -> SummaryPublic:
    """The caller's totals against the limit (for the UI's limit bar)."""
    return SummaryPublic.of(await payments.summary(_caller(user, user_id)))
