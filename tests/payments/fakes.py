"""The payments unit of work in memory: transactions, accounts, idempotency records."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from shopmesh.payments.domain import Balance, LimitPolicy, Transaction, TransactionCreated
from tests.fakes import FakeIdempotencyRecords, FakeOutbox, FakeStore, FakeUnitOfWork


class PaymentsStore(FakeStore):
    def __init__(self) -> None:
        super().__init__()
        self.transactions: list[Transaction] = []
        self.balances: dict[int, Balance] = {}
        # Charges the next calls to ``charge`` refuse as if the limit were reached (a race).
        self.refuse_next_charges = 0


class FakeTransactions:
    """:class:`shopmesh.payments.repository.Transactions` in memory."""

    def __init__(self, store: PaymentsStore, outbox: FakeOutbox) -> None:
        self._store = store
        self._outbox = outbox

    async def charge(
        self,
        user_id: int,
        *,
        amount: Decimal,
        policy: LimitPolicy,
        description: str,
        created_at: datetime,
        order_id: int | None = None,
    ) -> Transaction | None:
        balance = self._store.balances.get(user_id)
        if self._store.refuse_next_charges:
            self._store.refuse_next_charges -= 1
            return None
        if balance is not None and not policy.allows(balance, amount):
            return None
        balance = balance or Balance()
        self._store.balances[user_id] = Balance(balance.total + amount, balance.unpaid + amount)
        tx = Transaction(
            len(self._store.transactions) + 1,
            user_id,
            amount,
            description,
            False,
            created_at,
            order_id=order_id,
        )
        self._store.transactions.append(tx)
        self._outbox.add(TransactionCreated.of(tx))
        return tx

    async def balance(self, user_id: int) -> Balance:
        return self._store.balances.get(user_id, Balance())

    async def of_user(self, user_id: int, *, limit: int, offset: int) -> list[Transaction]:
        mine = [tx for tx in reversed(self._store.transactions) if tx.user_id == user_id]
        return mine[offset : offset + limit]

    async def of_order(self, order_id: int) -> Transaction | None:
        return next((tx for tx in self._store.transactions if tx.order_id == order_id), None)

    async def void(self, order_id: int, *, now: datetime) -> Transaction | None:
        tx = await self.of_order(order_id)
        if tx is None or tx.is_voided:
            return None
        voided = replace(tx, is_voided=True)
        self._store.transactions[self._store.transactions.index(tx)] = voided
        balance = self._store.balances[tx.user_id]
        unpaid = balance.unpaid if tx.is_paid else balance.unpaid - tx.amount
        self._store.balances[tx.user_id] = Balance(balance.total - tx.amount, unpaid)
        return voided

    async def clear_unpaid(self, user_id: int) -> None:
        if user_id in self._store.balances:
            self._store.balances[user_id] = replace(
                self._store.balances[user_id], unpaid=Decimal(0)
            )

    async def mark_all_paid(self, user_id: int, *, paid_at: datetime) -> int:
        unpaid = [
            i
            for i, tx in enumerate(self._store.transactions)
            if tx.user_id == user_id and not tx.is_paid and not tx.is_voided
        ]
        for i in unpaid:
            self._store.transactions[i] = replace(self._store.transactions[i], is_paid=True)
        return len(unpaid)


class FakePaymentsUnitOfWork(FakeUnitOfWork):
    store: PaymentsStore

    def open_repositories(self) -> None:
        self.transactions = FakeTransactions(self.store, self.outbox)
        self.idempotency = FakeIdempotencyRecords(self.store)
