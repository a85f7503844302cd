"""The payments use cases on a unit of work in memory: the limit, pay-all, events, idempotency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopmesh.kit.errors import Conflict
from shopmesh.kit.idempotency import IdempotencyKeyReused, IdempotencyRecords, IdempotentRequest
from shopmesh.payments.domain import LimitExceeded, LimitPolicy, LimitScope, TransactionsPaid
from shopmesh.payments.repository import Transactions
from shopmesh.payments.service import PaymentService
from tests.fakes import FakeIdempotencyRecords, assert_same_interface, units_of

from .fakes import FakePaymentsUnitOfWork, FakeTransactions, PaymentsStore

ALICE, BOB = 101, 202


@pytest.fixture
def store() -> PaymentsStore:
    return PaymentsStore()


def service(store: PaymentsStore, **policy: object) -> PaymentService:
    return PaymentService(units_of(FakePaymentsUnitOfWork, store), policy=LimitPolicy(**policy))


def test_the_fakes_keep_the_repositories_interfaces() -> None:
    assert_same_interface(FakeTransactions, Transactions)
    assert_same_interface(FakeIdempotencyRecords, IdempotencyRecords)


async def test_a_charge_within_the_limit_is_recorded_and_announced(store: PaymentsStore) -> None:
    outcome = await service(store).create_transaction(
        ALICE, amount=Decimal("250.00"), description="rent"
    )
    tx = outcome.value
    assert (tx.user_id, tx.amount, tx.description, tx.is_paid) == (
        ALICE,
        Decimal("250.00"),
        "rent",
        False,
    )
    assert not outcome.replayed
    [event] = store.events()
    assert (event.event_type, event.transaction_id, event.amount) == (
        "transaction.created",
        tx.id,
        tx.amount,
    )
    assert event.producer == "payments"
    assert event.timestamp == tx.created_at


async def test_a_charge_past_the_limit_is_refused_with_the_totals_and_leaves_nothing(
    store: PaymentsStore,
) -> None:
    payments = service(store)
    await payments.create_transaction(ALICE, amount=Decimal("980.00"), description="")
    with pytest.raises(LimitExceeded) as refused:
        await payments.create_transaction(ALICE, amount=Decimal("50.00"), description="")
    assert refused.value.message == (
        "total would exceed the limit of 1000.00: current total 980.00, requested 50.00"
    )
    assert refused.value.details == {
        "current_total": 980.0,
        "requested": 50.0,
        "limit": 1000.0,
        "scope": "all",
    }
    assert len(store.transactions) == len(store.events()) == 1
    assert store.rollbacks == 1


async def test_an_amount_over_the_limit_alone_is_refused_before_any_charge(
    store: PaymentsStore,
) -> None:
    with pytest.raises(LimitExceeded):
        await service(store, limit=Decimal("100.00")).create_transaction(
            BOB, amount=Decimal("100.01"), description=""
        )
    assert store.transactions == []
    assert store.balances == {}


async def test_the_limit_is_per_user(store: PaymentsStore) -> None:
    payments = service(store)
    await payments.create_transaction(ALICE, amount=Decimal("1000.00"), description="")
    await payments.create_transaction(BOB, amount=Decimal("1000.00"), description="")
    assert [tx.user_id for tx in await payments.list_transactions(BOB)] == [BOB]


async def test_over_all_transactions_paying_frees_no_room(store: PaymentsStore) -> None:
    payments = service(store)
    await payments.create_transaction(ALICE, amount=Decimal("1000.00"), description="")
    await payments.pay_all(ALICE)
    with pytest.raises(LimitExceeded):
        await payments.create_transaction(ALICE, amount=Decimal("0.01"), description="")


async def test_over_the_unpaid_balance_paying_frees_room(store: PaymentsStore) -> None:
    payments = service(store, scope=LimitScope.UNPAID)
    await payments.create_transaction(ALICE, amount=Decimal("600.00"), description="")
    with pytest.raises(LimitExceeded, match=r"^unpaid total would exceed the limit of 1000\.00"):
        await payments.create_transaction(ALICE, amount=Decimal("400.01"), description="")
    await payments.pay_all(ALICE)
    await payments.create_transaction(ALICE, amount=Decimal("1000.00"), description="")
    summary = await payments.summary(ALICE)
    assert (summary.balance.total, summary.balance.unpaid) == (
        Decimal("1600.00"),
        Decimal("1000.00"),
    )
    assert summary.remaining == Decimal("0.00")


async def test_a_refusal_raced_by_a_payment_is_tried_again(store: PaymentsStore) -> None:
    # The conditional charge refused (the balance it saw was full), but the balance read
    # right after shows room: a concurrent pay-all committed in between. Charge again.
    store.refuse_next_charges = 1
    outcome = await service(store).create_transaction(ALICE, amount=Decimal("5.00"), description="")
    assert outcome.value.amount == Decimal("5.00")
    assert len(store.events("transaction.created")) == 1


async def test_a_refusal_that_keeps_finding_room_gives_up_after_three_tries(
    store: PaymentsStore,
) -> None:
    store.refuse_next_charges = 3
    with pytest.raises(LimitExceeded):
        await service(store).create_transaction(ALICE, amount=Decimal("5.00"), description="")
    assert store.transactions == []


async def test_pay_all_marks_the_unpaid_paid_and_announces_it_once(store: PaymentsStore) -> None:
    payments = service(store)
    for amount in ("1.00", "2.00"):
        await payments.create_transaction(ALICE, amount=Decimal(amount), description="")
    await payments.create_transaction(BOB, amount=Decimal("3.00"), description="")
    paid = (await payments.pay_all(ALICE)).value
    assert (paid.transactions_paid, paid.message) == (2, "all transactions marked as paid")
    assert all(tx.is_paid for tx in await payments.list_transactions(ALICE))
    assert not (await payments.list_transactions(BOB))[0].is_paid
    [event] = store.events("transaction.paid")
    assert isinstance(event, TransactionsPaid)
    assert (event.user_id, event.transactions_paid) == (ALICE, 2)
    again = (await payments.pay_all(ALICE)).value
    assert (again.transactions_paid, again.message) == (0, "no unpaid transactions")
    assert len(store.events("transaction.paid")) == 1


async def test_transactions_are_listed_newest_first_with_paging(store: PaymentsStore) -> None:
    payments = service(store)
    ids = [
        (await payments.create_transaction(ALICE, amount=Decimal(n), description="")).value.id
        for n in (1, 2, 3, 4)
    ]
    assert [tx.id for tx in await payments.list_transactions(ALICE)] == ids[::-1]
    page = await payments.list_transactions(ALICE, limit=2, offset=1)
    assert [tx.id for tx in page] == ids[::-1][1:3]
    assert await payments.list_transactions(BOB) == []


async def test_a_retried_charge_replays_the_first_answer_and_charges_nothing(
    store: PaymentsStore,
) -> None:
    payments = service(store)
    first = await payments.create_transaction(
        ALICE, amount=Decimal("25.50"), description="book", idempotency_key="k"
    )
    await payments.pay_all(ALICE)
    retry = await payments.create_transaction(
        ALICE, amount=Decimal("25.50"), description="book", idempotency_key="k"
    )
    assert retry.replayed
    assert not first.replayed
    assert retry.value == first.value  # the first answer, though the transaction is paid now
    assert len(store.transactions) == len(store.events("transaction.created")) == 1


@pytest.mark.parametrize(("amount", "description"), [("11.00", "book"), ("25.50", "pen")])
async def test_a_key_reused_for_another_charge_is_refused(
    store: PaymentsStore, amount: str, description: str
) -> None:
    payments = service(store)
    await payments.create_transaction(
        ALICE, amount=Decimal("25.50"), description="book", idempotency_key="k"
    )
    with pytest.raises(IdempotencyKeyReused):
        await payments.create_transaction(
            ALICE, amount=Decimal(amount), description=description, idempotency_key="k"
        )
    with pytest.raises(IdempotencyKeyReused):
        await payments.pay_all(ALICE, idempotency_key="k")
    assert len(store.transactions) == 1


async def test_keys_belong_to_one_user(store: PaymentsStore) -> None:
    payments = service(store)
    mine = await payments.create_transaction(
        ALICE, amount=Decimal("1.00"), description="", idempotency_key="k"
    )
    theirs = await payments.create_transaction(
        BOB, amount=Decimal("1.00"), description="", idempotency_key="k"
    )
    assert not theirs.replayed
    assert theirs.value.id != mine.value.id


async def test_a_refused_charge_does_not_use_up_its_key(store: PaymentsStore) -> None:
    payments = service(store)
    await payments.create_transaction(ALICE, amount=Decimal("990.00"), description="")
    for _ in range(2):
        with pytest.raises(LimitExceeded):
            await payments.create_transaction(
                ALICE, amount=Decimal("20.00"), description="", idempotency_key="k"
            )
    assert store.idempotency == {}


async def test_a_key_still_in_progress_is_a_conflict(store: PaymentsStore) -> None:
    request = IdempotentRequest.of("k", {"op": "pay"})
    assert request is not None
    store.idempotency[(ALICE, "k")] = (request.fingerprint, None)  # claimed, no answer yet
    with pytest.raises(Conflict):
        await service(store).pay_all(ALICE, idempotency_key="k")


async def test_a_retried_pay_all_replays_and_pays_nothing_new(store: PaymentsStore) -> None:
    payments = service(store)
    await payments.create_transaction(ALICE, amount=Decimal("1.00"), description="")
    first = await payments.pay_all(ALICE, idempotency_key="pay")
    await payments.create_transaction(ALICE, amount=Decimal("3.00"), description="")
    retry = await payments.pay_all(ALICE, idempotency_key="pay")
    assert retry.replayed
    assert retry.value == first.value
    assert not (await payments.list_transactions(ALICE))[0].is_paid
    assert len(store.events("transaction.paid")) == 1


async def test_the_summary_shows_the_totals_against_the_limit(store: PaymentsStore) -> None:
    payments = service(store)
    empty = await payments.summary(ALICE)
    assert (empty.balance.total, empty.remaining) == (Decimal("0.00"), Decimal("1000.00"))
    await payments.create_transaction(ALICE, amount=Decimal("300.25"), description="")
    await payments.pay_all(ALICE)
    await payments.create_transaction(ALICE, amount=Decimal("100.00"), description="")
    summary = await payments.summary(ALICE)
    assert (summary.balance.total, summary.balance.unpaid) == (Decimal("400.25"), Decimal("100.00"))
    assert summary.remaining == Decimal("599.75")
    assert summary.policy == payments.policy
