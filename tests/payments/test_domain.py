"""Amount rules, limit arithmetic and event shapes: pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from shopmesh.payments.domain import (
    MAX_AMOUNT,
    Balance,
    InvalidAmount,
    LimitExceeded,
    LimitPolicy,
    LimitScope,
    PayResult,
    Transaction,
    TransactionCreated,
    TransactionsPaid,
    parse_amount,
)

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (50, D("50.00")),
        (49.99, D("49.99")),
        (10.1, D("10.10")),
        (0.01, D("0.01")),
        ("12.5", D("12.50")),
        (" 7 ", D("7.00")),
        (D("1.230"), D("1.23")),
        ("9999999999.99", MAX_AMOUNT),
        (9999999999.99, MAX_AMOUNT),
    ],
)
def test_valid_amounts_become_two_decimal_decimals(value: object, expected: Decimal) -> None:
    amount = parse_amount(value)
    assert amount == expected
    assert amount.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        None,
        [],
        {},
        "abc",
        "",
        "1,5",
        float("nan"),
        float("inf"),
        float("-inf"),
        "NaN",
        "Infinity",
        0,
        0.0,
        "0.00",
        -1,
        -0.01,
        1.234,
        "0.001",
        0.1 + 0.2,
        D("10000000000.00"),
        1e11,
        "1e400",
        # Decimal() reads these as 10; an amount is written in ASCII digits.
        "1_0",
        "\u0661\u0660",  # Arabic-Indic
        "\u06f1\u06f0",  # Extended Arabic-Indic
        "\uff11\uff10",  # full-width
        "1\u0660",
    ],
)
def test_invalid_amounts_are_refused(value: object) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(value)


def test_invalid_amount_is_a_value_error_so_validation_reports_it() -> None:
    assert issubclass(InvalidAmount, ValueError)


def test_charge_reaching_the_limit_exactly_is_allowed() -> None:
    policy = LimitPolicy(limit=D("1000.00"))
    assert policy.allows(Balance(total=D("950.00")), D("50.00"))
    assert not policy.allows(Balance(total=D("950.00")), D("50.01"))


def test_limit_over_all_transactions_ignores_payments() -> None:
    policy = LimitPolicy(limit=D("1000.00"), scope=LimitScope.ALL)
    paid_off = Balance(total=D("980.00"), unpaid=D("0.00"))
    assert not policy.allows(paid_off, D("50.00"))
    assert policy.remaining(paid_off) == D("20.00")


def test_limit_over_unpaid_counts_only_the_unpaid_balance() -> None:
    policy = LimitPolicy(limit=D("1000.00"), scope=LimitScope.UNPAID)
    paid_off = Balance(total=D("980.00"), unpaid=D("0.00"))
    assert policy.allows(paid_off, D("1000.00"))
    assert policy.remaining(paid_off) == D("1000.00")


def test_remaining_is_never_negative_after_the_limit_is_lowered() -> None:
    policy = LimitPolicy(limit=D("100.00"))
    assert policy.remaining(Balance(total=D("300.00"))) == D("0.00")


def test_refusal_names_current_total_request_and_limit() -> None:
    policy = LimitPolicy(limit=D("1000"))
    with pytest.raises(LimitExceeded) as caught:
        policy.check(Balance(total=D("980.00")), D("50.00"))
    error = caught.value
    assert error.status == 422
    assert error.code == "limit_exceeded"
    assert error.message == (
        "total would exceed the limit of 1000.00: current total 980.00, requested 50.00"
    )
    assert error.details == {
        "current_total": 980.0,
        "requested": 50.0,
        "limit": 1000.0,
        "scope": "all",
    }


def test_refusal_in_unpaid_scope_speaks_of_the_unpaid_total() -> None:
    policy = LimitPolicy(limit=D("100.00"), scope=LimitScope.UNPAID)
    with pytest.raises(LimitExceeded) as caught:
        policy.check(Balance(total=D("500.00"), unpaid=D("99.99")), D("0.02"))
    assert caught.value.message.startswith("unpaid total would exceed the limit of 100.00")
    assert caught.value.details["current_total"] == 99.99


def test_cent_sums_are_exact_at_the_limit() -> None:
    policy = LimitPolicy(limit=D("1000.00"))
    balance = Balance(total=D("333.33") * 3)
    assert policy.allows(balance, D("0.01"))
    assert not policy.allows(balance, D("0.02"))


def test_transaction_snapshot_round_trips() -> None:
    tx = Transaction(
        id=3,
        user_id=9,
        amount=D("12.30"),
        description="café",
        is_paid=False,
        created_at=datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    )
    assert Transaction.from_snapshot(orjson.loads(orjson.dumps(tx.snapshot()))) == tx
    assert PayResult.from_snapshot(PayResult(4).snapshot()) == PayResult(4)


def test_created_event_carries_the_seed_fields_with_amount_as_number() -> None:
    at = datetime(2025, 1, 2, tzinfo=UTC)
    event = TransactionCreated(
        producer="payments",
        transaction_id=1,
        user_id=42,
        amount=D("50.10"),
        description="x",
        timestamp=at,
    )
    payload = orjson.loads(event.to_bytes())
    assert event.topic == "transactions"
    assert event.key() == "42"
    assert payload["event_type"] == "transaction.created"
    assert payload["amount"] == 50.1
    assert isinstance(payload["amount"], float)
    fields = {"transaction_id", "user_id", "amount", "description", "timestamp"}
    assert fields <= payload.keys()
    assert {"event_id", "occurred_at", "producer"} <= payload.keys()


def test_paid_event_carries_the_seed_fields() -> None:
    event = TransactionsPaid(
        producer="payments", user_id=42, transactions_paid=3, timestamp=datetime.now(UTC)
    )
    payload = orjson.loads(event.to_bytes())
    assert event.key() == "42"
    assert payload["event_type"] == "transaction.paid"
    assert {"user_id", "transactions_paid", "timestamp"} <= payload.keys()
