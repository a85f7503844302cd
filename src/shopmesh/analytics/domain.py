"""What analytics reads from the ``transactions`` topic and what it keeps.

The reader models are analytics' own view of the payments service's events:
only the fields it needs, validated strictly, so a payload that does not keep
the contract fails (and the consumer dead-letters it) instead of skewing the
totals. Pure: no I/O, no framework imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from shopmesh.kit.validation import json_number

ZERO = Decimal("0.00")


def _as_utc(value: datetime) -> datetime:
    # Payments writes UTC; a timestamp without an offset is read as UTC rather than refused.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Amount = Annotated[
    Decimal,
    BeforeValidator(json_number),
    Field(gt=0, max_digits=12, decimal_places=2, allow_inf_nan=False),
]
UserId = Annotated[int, Field(strict=True, gt=0)]
UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


@dataclass(frozen=True, slots=True)
class StatsDelta:
    """What one event adds to the totals (and to its user's)."""

    user_id: int
    event_time: datetime
    transactions: int = 0
    amount: Decimal = ZERO
    paid_transactions: int = 0


class TransactionCreated(BaseModel):
    """``transaction.created``: one charge of ``amount`` for ``user_id``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    transaction_id: Annotated[int, Field(strict=True)]
    user_id: UserId
    amount: Amount
    timestamp: UtcDatetime

    def delta(self) -> StatsDelta:
        return StatsDelta(
            user_id=self.user_id, event_time=self.timestamp, transactions=1, amount=self.amount
        )


class TransactionPaid(BaseModel):
    """``transaction.paid``: ``transactions_paid`` of the user's transactions were paid at once."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    user_id: UserId
    transactions_paid: Annotated[int, Field(strict=True, ge=0)]
    timestamp: UtcDatetime

    def delta(self) -> StatsDelta:
        return StatsDelta(
            user_id=self.user_id,
            event_time=self.timestamp,
            paid_transactions=self.transactions_paid,
        )


class TransactionVoided(BaseModel):
    """``transaction.voided``: an order's charge of ``amount`` was voided; it is taken off the
    totals (and off the paid ones if ``was_paid``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    transaction_id: Annotated[int, Field(strict=True)]
    user_id: UserId
    amount: Amount
    was_paid: bool
    timestamp: UtcDatetime

    def delta(self) -> StatsDelta:
        return StatsDelta(
            user_id=self.user_id,
            event_time=self.timestamp,
            transactions=-1,
            amount=-self.amount,
            paid_transactions=-1 if self.was_paid else 0,
        )


@dataclass(frozen=True, slots=True)
class Stats:
    """The platform-wide totals."""

    total_transactions: int
    total_amount: Decimal
    total_paid_transactions: int
    events_processed: int
    unique_users: int
    last_event_time: datetime | None


@dataclass(frozen=True, slots=True)
class UserStats:
    """One user's share of the totals."""

    user_id: int
    transactions: int
    amount: Decimal
    paid_transactions: int
    last_event_time: datetime | None


EMPTY_STATS = Stats(
    total_transactions=0,
    total_amount=ZERO,
    total_paid_transactions=0,
    events_processed=0,
    unique_users=0,
    last_event_time=None,
)


TransactionEvent = TransactionCreated | TransactionPaid | TransactionVoided
