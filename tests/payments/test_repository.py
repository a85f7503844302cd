"""The payments repository's statements on both databases: the limit decided in SQL, per user
and per scope, the transaction and its event written by the charge, paying, listing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from sqlalchemy import text

from shopmesh.kit.db import Database
from shopmesh.payments.domain import MAX_AMOUNT, LimitPolicy, LimitScope, Transaction
from shopmesh.payments.repository import PaymentsUnitOfWork
from tests.support import migrated_database

ALICE, BOB = 101, 202
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ALL = LimitPolicy()
UNPAID = LimitPolicy(scope=LimitScope.UNPAID)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(database_url, "shopmesh.payments:migrations") as database:
        yield database


@pytest.fixture
def units(db: Database) -> Callable[[], PaymentsUnitOfWork]:
    return lambda: PaymentsUnitOfWork(db)


async def charge(
    units: Callable[[], PaymentsUnitOfWork],
    user: int,
    amount: str,
    policy: LimitPolicy = ALL,
    description: str = "",
) -> Transaction | None:
    async with units() as uow:
        return await uow.transactions.charge(
            user, amount=Decimal(amount), policy=policy, description=description, created_at=NOW
        )


async def outbox(db: Database) -> list[dict[str, object]]:
    async with db.engine.connect() as connection:
        rows = await connection.execute(text("SELECT key, payload FROM outbox_message ORDER BY id"))
        return [{"_key": r.key, **orjson.loads(r.payload)} for r in rows]


async def test_a_charge_within_the_limit_is_stored_with_its_event(
    units: Callable[[], PaymentsUnitOfWork], db: Database
) -> None:
    tx = await charge(units, ALICE, "999.99", description='"quoted" café')
    assert tx is not None
    async with units() as uow:
        assert await uow.transactions.of_user(ALICE, limit=10, offset=0) == [tx]
        balance = await uow.transactions.balance(ALICE)
    assert (balance.total, balance.unpaid) == (Decimal("999.99"), Decimal("999.99"))
    [event] = await outbox(db)
    assert (event["_key"], event["transaction_id"], event["amount"]) == (str(ALICE), tx.id, 999.99)
    assert event["description"] == '"quoted" café'


async def test_a_charge_past_the_limit_writes_nothing(
    units: Callable[[], PaymentsUnitOfWork], db: Database
) -> None:
    assert await charge(units, ALICE, "600.00") is not None
    assert await charge(units, ALICE, "400.01") is None
    assert await charge(units, BOB, "1000.00") is not None  # another user's account
    async with units() as uow:
        assert len(await uow.transactions.of_user(ALICE, limit=10, offset=0)) == 1
        assert (await uow.transactions.balance(ALICE)).total == Decimal("600.00")
    assert [e["_key"] for e in await outbox(db)] == [str(ALICE), str(BOB)]


@pytest.mark.parametrize(("policy", "room_after_paying"), [(ALL, False), (UNPAID, True)])
async def test_paying_frees_room_only_when_the_unpaid_balance_counts(
    units: Callable[[], PaymentsUnitOfWork], policy: LimitPolicy, room_after_paying: bool
) -> None:
    await charge(units, ALICE, "700.00", policy)
    await charge(units, ALICE, "300.00", policy)
    async with units() as uow:
        await uow.transactions.clear_unpaid(ALICE)
        assert await uow.transactions.mark_all_paid(ALICE, paid_at=NOW) == 2
    assert (await charge(units, ALICE, "0.01", policy) is not None) is room_after_paying
    async with units() as uow:
        listed = await uow.transactions.of_user(ALICE, limit=10, offset=0)
        balance = await uow.transactions.balance(ALICE)
    assert [tx.is_paid for tx in listed][-2:] == [True, True]
    assert balance.unpaid == (Decimal("0.01") if room_after_paying else Decimal("0.00"))


async def test_the_largest_amount_is_stored_exactly(
    units: Callable[[], PaymentsUnitOfWork],
) -> None:
    tx = await charge(units, ALICE, str(MAX_AMOUNT), LimitPolicy(limit=MAX_AMOUNT))
    assert tx is not None
    async with units() as uow:
        [stored] = await uow.transactions.of_user(ALICE, limit=1, offset=0)
    assert stored.amount == MAX_AMOUNT


async def test_transactions_are_listed_newest_first_per_user_with_paging(
    units: Callable[[], PaymentsUnitOfWork],
) -> None:
    ids = []
    for amount in ("1.00", "2.00", "3.00", "4.00"):
        tx = await charge(units, ALICE, amount)
        assert tx is not None
        ids.append(tx.id)
    await charge(units, BOB, "5.00")
    async with units() as uow:
        page = await uow.transactions.of_user(ALICE, limit=2, offset=1)
        assert await uow.transactions.of_user(202_202, limit=5, offset=0) == []
    assert [tx.id for tx in page] == ids[::-1][1:3]
