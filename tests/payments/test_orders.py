"""Payments' side of the order saga on a unit of work in memory: an order is charged once
within the limit (authorized or declined), a cancelled order's charge is voided once and
stops counting, and pay-all leaves voided charges alone."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopmesh.payments.domain import LimitPolicy, OrderCharge
from shopmesh.payments.service import PaymentService
from tests.fakes import units_of

from .fakes import FakePaymentsUnitOfWork, PaymentsStore

ALICE = 101


@pytest.fixture
def store() -> PaymentsStore:
    return PaymentsStore()


@pytest.fixture
def payments(store: PaymentsStore) -> PaymentService:
    return PaymentService(units_of(FakePaymentsUnitOfWork, store), policy=LimitPolicy())


def order(order_id: int, amount: str) -> OrderCharge:
    return OrderCharge(order_id, ALICE, Decimal(amount), "Oak board", 2)


async def charge(payments: PaymentService, store: PaymentsStore, charged: OrderCharge) -> None:
    async with units_of(FakePaymentsUnitOfWork, store)() as uow:
        await payments.charge_order(uow, charged)


async def void(payments: PaymentService, store: PaymentsStore, order_id: int) -> None:
    async with units_of(FakePaymentsUnitOfWork, store)() as uow:
        await payments.void_order(uow, order_id)


def kinds(store: PaymentsStore) -> list[str]:
    return [e.event_type for e in store.published]


async def test_an_order_is_charged_once_as_a_transaction_naming_it(
    payments: PaymentService, store: PaymentsStore
) -> None:
    await charge(payments, store, order(42, "39.98"))
    await charge(payments, store, order(42, "39.98"))  # order.created seen again
    [tx] = store.transactions
    assert (tx.user_id, tx.amount, tx.order_id, tx.description) == (
        ALICE,
        Decimal("39.98"),
        42,
        "Order #42 (Oak board x2)",
    )
    assert kinds(store) == ["transaction.created", "payment.authorized"]
    assert store.published[-1].transaction_id == tx.id
    assert (await payments.summary(ALICE)).balance.total == Decimal("39.98")


async def test_an_order_past_the_limit_is_declined_and_charged_nothing(
    payments: PaymentService, store: PaymentsStore
) -> None:
    await payments.create_transaction(ALICE, amount=Decimal("990.00"), description="rent")
    await charge(payments, store, order(7, "20.00"))
    assert len(store.transactions) == 1
    assert kinds(store)[-1] == "payment.declined"
    assert store.published[-1].reason == "limit_exceeded"
    # An order over the limit by itself is declined the same way.
    await charge(payments, store, order(8, "1000.01"))
    assert store.published[-1].reason == "limit_exceeded"


async def test_a_free_order_is_authorized_without_a_transaction(
    payments: PaymentService, store: PaymentsStore
) -> None:
    await charge(payments, store, order(9, "0.00"))
    assert store.transactions == []
    assert kinds(store) == ["payment.authorized"]
    assert store.published[0].transaction_id is None


async def test_a_voided_charge_stops_counting_toward_the_limit_and_is_announced_once(
    payments: PaymentService, store: PaymentsStore
) -> None:
    await charge(payments, store, order(1, "600.00"))
    await void(payments, store, 1)
    await void(payments, store, 1)  # order.cancelled seen again
    await void(payments, store, 2)  # an order never charged: nothing to void
    [tx] = store.transactions
    assert tx.is_voided
    voided = store.events("transaction.voided")
    assert [(e.transaction_id, e.amount, e.was_paid) for e in voided] == [
        (tx.id, Decimal("600.00"), False)
    ]
    summary = await payments.summary(ALICE)
    assert (summary.balance.total, summary.balance.unpaid) == (Decimal("0.00"), Decimal("0.00"))
    # The room is back: 600 more is within the limit again.
    await charge(payments, store, order(3, "600.00"))
    assert kinds(store)[-1] == "payment.authorized"


async def test_pay_all_pays_no_voided_charge_and_a_paid_charge_voided_is_reported_paid(
    payments: PaymentService, store: PaymentsStore
) -> None:
    await charge(payments, store, order(1, "10.00"))
    await charge(payments, store, order(2, "20.00"))
    await void(payments, store, 1)
    paid = await payments.pay_all(ALICE)
    assert paid.value.transactions_paid == 1
    first, second = store.transactions
    assert (first.is_voided, first.is_paid, second.is_paid) == (True, False, True)
    await void(payments, store, 2)
    assert store.events("transaction.voided")[-1].was_paid
    summary = await payments.summary(ALICE)
    assert (summary.balance.total, summary.balance.unpaid) == (Decimal("0.00"), Decimal("0.00"))
