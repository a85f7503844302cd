"""The ledger: transactions, the amount rules and the per-user limit.

Pure on purpose: no I/O, no web or database framework. The limit is enforced
atomically by the database (see repository.try_charge); the rules here say
what the limit means and build the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from shopmesh.kit.errors import Unprocessable
from shopmesh.kit.validation import decimal_from_text

CENT = Decimal("0.01")
# The largest value a NUMERIC(12, 2) column holds.
MAX_AMOUNT = Decimal("9999999999.99")
DEFAULT_LIMIT = Decimal("1000.00")
MAX_DESCRIPTION_LENGTH = 500
PRODUCER = "payments"


class InvalidAmount(ValueError):
    """The value is not an amount of money a transaction may have."""


def parse_amount(value: object) -> Decimal:
    """The amount ``value`` stands for: a finite number > 0 with at most 2 decimals.

    Accepts ints, floats (read by their shortest decimal text, so 10.1 is
    10.10), Decimals and numeric strings in ASCII digits; refuses booleans,
    NaN/Infinity, other strings (``"1_0"``, Arabic-Indic or full-width
    digits), zero, negatives, a third decimal and values over :data:`MAX_AMOUNT`.
    """
    amount = _to_decimal(value)
    if not amount.is_finite():
        raise InvalidAmount("amount must be a finite number")
    if amount <= 0:
        raise InvalidAmount("amount must be greater than 0")
    if amount > MAX_AMOUNT:
        raise InvalidAmount(f"amount must be at most {MAX_AMOUNT}")
    if amount != amount.quantize(CENT):
        raise InvalidAmount("amount must have at most 2 decimal places")
    return amount.quantize(CENT)


def _to_decimal(value: object) -> Decimal:
    # bool is an int subclass; True must not become a charge of 1.00.
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidAmount("amount must be a number")
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        return decimal_from_text(text)
    except (ValueError, InvalidOperation):
        raise InvalidAmount("amount must be a number in ASCII digits") from None


class LimitScope(StrEnum):
    """What the per-user limit counts."""

    ALL = "all"  # every transaction ever created, as the seed does
    UNPAID = "unpaid"  # only the unpaid balance; paying frees room again


@dataclass(frozen=True, slots=True)
class Balance:
    """A user's running totals."""

    total: Decimal = Decimal("0.00")
    unpaid: Decimal = Decimal("0.00")

    def counted(self, scope: LimitScope) -> Decimal:
        """The part of the balance the limit applies to."""
        return self.unpaid if scope is LimitScope.UNPAID else self.total


class LimitExceeded(Unprocessable):
    code = "limit_exceeded"


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    """A user's transactions may not exceed ``limit`` (counted as ``scope`` says)."""

    limit: Decimal = DEFAULT_LIMIT
    scope: LimitScope = LimitScope.ALL

    def allows(self, balance: Balance, amount: Decimal) -> bool:
        return balance.counted(self.scope) + amount <= self.limit

    def check(self, balance: Balance, amount: Decimal) -> None:
        """Raise :class:`LimitExceeded` if charging ``amount`` would pass the limit."""
        if not self.allows(balance, amount):
            raise self.refusal(balance.counted(self.scope), amount)

    def remaining(self, balance: Balance) -> Decimal:
        """How much more may be charged now (never negative, even after a lowered limit)."""
        return max(self.limit - balance.counted(self.scope), Decimal("0.00"))

    def refusal(self, current: Decimal, amount: Decimal) -> LimitExceeded:
        what = "unpaid total" if self.scope is LimitScope.UNPAID else "total"
        message = (
            f"{what} would exceed the limit of {_money(self.limit)}: "
            f"current {what} {_money(current)}, requested {_money(amount)}"
        )
        details = {
            "current_total": float(current),
            "requested": float(amount),
            "limit": float(self.limit),
            "scope": self.scope.value,
        }
        return LimitExceeded(message, details=details)


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


@dataclass(frozen=True, slots=True)
class Transaction:
    """A charge recorded for a user."""

    id: int
    user_id: int
    amount: Decimal
    description: str
    is_paid: bool
    created_at: datetime
    # The order it charged (None for a direct transaction), and whether it was voided.
    order_id: int | None = None
    is_voided: bool = False

    def snapshot(self) -> dict[str, Any]:
        """A JSON-safe copy, kept to replay an idempotent request's first answer."""
        return {
            "id": self.id,
            "user_id": self.user_id,
            "amount": str(self.amount),
            "description": self.description,
            "is_paid": self.is_paid,
            "created_at": self.created_at.isoformat(),
            "order_id": self.order_id,
            "is_voided": self.is_voided,
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Transaction:
        return cls(
            id=int(data["id"]),
            user_id=int(data["user_id"]),
            amount=Decimal(data["amount"]),
            description=str(data["description"]),
            is_paid=bool(data["is_paid"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            order_id=data.get("order_id"),
            is_voided=bool(data.get("is_voided", False)),
        )


@dataclass(frozen=True, slots=True)
class PayResult:
    """The outcome of paying all of a user's unpaid transactions."""

    transactions_paid: int

    @property
    def message(self) -> str:
        if self.transactions_paid == 0:
            return "no unpaid transactions"
        return "all transactions marked as paid"

    def snapshot(self) -> dict[str, Any]:
        return {"transactions_paid": self.transactions_paid}

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> PayResult:
        return cls(transactions_paid=int(data["transactions_paid"]))


@dataclass(frozen=True, slots=True)
class Summary:
    """What the UI's limit bar shows."""

    balance: Balance
    policy: LimitPolicy

    @property
    def remaining(self) -> Decimal:
        return self.policy.remaining(self.balance)
