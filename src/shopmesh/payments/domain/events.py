"""What payments announces: transactions recorded, paid and voided, and orders' charge outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal

from shopmesh.kit.events import Event
from shopmesh.kit.validation import MoneyNumber
from shopmesh.payments.domain.ledger import MAX_DESCRIPTION_LENGTH, PRODUCER, Transaction


class _TransactionEvent(Event):
    topic: ClassVar[str] = "transactions"
    user_id: int

    def key(self) -> str:
        return str(self.user_id)


class TransactionCreated(_TransactionEvent):
    """A transaction was recorded (the seed's payload, plus the envelope)."""

    event_type: Literal["transaction.created"] = "transaction.created"
    transaction_id: int
    amount: MoneyNumber
    description: str
    timestamp: datetime

    @classmethod
    def of(cls, tx: Transaction) -> TransactionCreated:
        return cls(
            producer=PRODUCER,
            transaction_id=tx.id,
            user_id=tx.user_id,
            amount=tx.amount,
            description=tx.description,
            timestamp=tx.created_at,
        )


class TransactionsPaid(_TransactionEvent):
    """All of a user's unpaid transactions were paid (only emitted when there were some)."""

    event_type: Literal["transaction.paid"] = "transaction.paid"
    transactions_paid: int
    timestamp: datetime

    @classmethod
    def of(cls, user_id: int, *, paid: int, at: datetime) -> TransactionsPaid:
        return cls(producer=PRODUCER, user_id=user_id, transactions_paid=paid, timestamp=at)


class TransactionVoided(_TransactionEvent):
    """An order's charge was voided (the order was cancelled before dispatch): it no longer
    counts; ``was_paid`` says whether it had been paid."""

    event_type: Literal["transaction.voided"] = "transaction.voided"
    transaction_id: int
    order_id: int | None
    amount: MoneyNumber
    was_paid: bool
    timestamp: datetime

    @classmethod
    def of(cls, tx: Transaction, *, at: datetime) -> TransactionVoided:
        return cls(
            producer=PRODUCER,
            transaction_id=tx.id,
            user_id=tx.user_id,
            order_id=tx.order_id,
            amount=tx.amount,
            was_paid=tx.is_paid,
            timestamp=at,
        )


PAYMENT_EVENTS = "payment-events"


class _PaymentEvent(Event):
    """The outcome of an order's charge, keyed by the order (orders reads it)."""

    topic: ClassVar[str] = PAYMENT_EVENTS
    order_id: int
    user_id: int
    amount: MoneyNumber

    def key(self) -> str:
        return str(self.order_id)


class PaymentAuthorized(_PaymentEvent):
    """The order was charged: transaction ``transaction_id`` (null when it cost nothing)."""

    event_type: Literal["payment.authorized"] = "payment.authorized"
    transaction_id: int | None


class PaymentDeclined(_PaymentEvent):
    """The order could not be charged; ``reason`` says why (``limit_exceeded``...)."""

    event_type: Literal["payment.declined"] = "payment.declined"
    reason: str


@dataclass(frozen=True, slots=True)
class OrderCharge:
    """What payments charges for an order (read from ``order.created``)."""

    order_id: int
    user_id: int
    amount: Decimal
    product_name: str
    quantity: int

    @property
    def description(self) -> str:
        """The transaction's description, naming the order (within the column's length)."""
        what = f"Order #{self.order_id} ({self.product_name} x{self.quantity})"
        if len(what) <= MAX_DESCRIPTION_LENGTH:
            return what
        return what[: MAX_DESCRIPTION_LENGTH - 2] + "…)"

    def authorized(self, transaction_id: int | None) -> PaymentAuthorized:
        return PaymentAuthorized(
            producer=PRODUCER,
            order_id=self.order_id,
            user_id=self.user_id,
            amount=self.amount,
            transaction_id=transaction_id,
        )

    def declined(self, reason: str) -> PaymentDeclined:
        return PaymentDeclined(
            producer=PRODUCER,
            order_id=self.order_id,
            user_id=self.user_id,
            amount=self.amount,
            reason=reason,
        )


PRODUCED_EVENTS: tuple[type[Event], ...] = (
    TransactionCreated,
    TransactionsPaid,
    TransactionVoided,
    PaymentAuthorized,
    PaymentDeclined,
)
