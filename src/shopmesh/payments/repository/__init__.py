"""Payments queries and the payments unit of work (tables in ``tables``, the charge's
statements in ``charge``). Nothing here commits."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.kit.db import execute_alone, rowcount
from shopmesh.kit.idempotency import IdempotencyRecords
from shopmesh.kit.outbox import Outbox
from shopmesh.kit.uow import UnitOfWork
from shopmesh.payments.domain import (
    Balance,
    LimitPolicy,
    LimitScope,
    Transaction,
    TransactionCreated,
)
from shopmesh.payments.repository.charge import (
    ID_PLACEHOLDER,
    announced_charge,
    charge_statements,
    cut_payload,
)
from shopmesh.payments.repository.tables import (
    Base,
    account,
    idempotency_record,
    transaction_table,
)

__all__ = ["Base", "PaymentsUnitOfWork", "Transactions", "cut_payload", "idempotency_record"]

_TRANSACTION = (
    transaction_table.c.id,
    transaction_table.c.user_id,
    transaction_table.c.amount,
    transaction_table.c.description,
    transaction_table.c.is_paid,
    transaction_table.c.created_at,
    transaction_table.c.order_id,
    transaction_table.c.is_voided,
)
_BALANCE = select(account.c.total_amount, account.c.unpaid_amount).where(
    account.c.user_id == bindparam("user_id")
)
# Built once, as the charge's statements: every charged order looks its charge up first.
_OF_ORDER = select(*_TRANSACTION).where(transaction_table.c.order_id == bindparam("order_id"))


class Transactions:
    """The transactions and accounts of one unit of work (on its connection)."""

    def __init__(self, connection: AsyncConnection, *, outbox: Outbox) -> None:
        self._connection = connection
        self._outbox = outbox
        self._dialect = connection.dialect.name

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
        """Record a transaction of ``amount`` and its ``transaction.created`` if the user's
        account (created when missing) stays within the limit; ``None`` when the limit
        refused it (nothing written). Atomic: one conditional upsert decides.

        The account's row lock, taken here, serialises a user's charges until commit.
        A new account takes the amount without the check: call only when ``amount``
        alone is within the limit. On PostgreSQL the account, the transaction and its
        outbox row are one statement, which commits by itself when it is the unit's first
        (no BEGIN and COMMIT round trips: it is the whole of a charge without a key).
        """
        pending = Transaction(
            id=ID_PLACEHOLDER,
            user_id=user_id,
            amount=amount,
            description=description,
            is_paid=False,
            created_at=created_at,
            order_id=order_id,
        )
        params: dict[str, Any] = {
            "user_id": user_id,
            "amount": amount,
            "limit": policy.limit,
            "description": description,
            "created_at": created_at,
            "order_id": order_id,
        }
        if self._dialect == "postgresql":
            new_id = await self._charge_and_announce(pending, params, policy.scope)
        else:
            new_id = await self._charge_then_add(params, policy.scope)
        if new_id is None:
            return None
        tx = replace(pending, id=new_id)
        if self._dialect != "postgresql":
            self._outbox.add(TransactionCreated.of(tx))
        return tx

    async def _charge_and_announce(
        self, pending: Transaction, params: dict[str, Any], scope: LimitScope
    ) -> int | None:
        announced = self._outbox.hand_over(TransactionCreated.of(pending))
        head, tail = cut_payload(announced.pop("outbox_payload"))
        params |= announced | {"payload_head": head, "payload_tail": tail}
        result = await execute_alone(self._connection, announced_charge(scope), params)
        new_id = result.scalar_one_or_none()
        return None if new_id is None else int(new_id)

    async def _charge_then_add(self, params: dict[str, Any], scope: LimitScope) -> int | None:
        statements = charge_statements(self._dialect, scope)
        if (await self._connection.execute(statements.charge, params)).first() is None:
            return None
        assert statements.add is not None
        return int((await self._connection.execute(statements.add, params)).scalar_one())

    async def balance(self, user_id: int) -> Balance:
        row = (await self._connection.execute(_BALANCE, {"user_id": user_id})).first()
        if row is None:
            return Balance()
        return Balance(total=row.total_amount, unpaid=row.unpaid_amount)

    async def of_user(self, user_id: int, *, limit: int, offset: int) -> list[Transaction]:
        """The user's transactions, newest first (ids grow with time)."""
        query = (
            select(*_TRANSACTION)
            .where(transaction_table.c.user_id == user_id)
            .order_by(transaction_table.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [Transaction(*row) for row in (await self._connection.execute(query)).all()]

    async def of_order(self, order_id: int) -> Transaction | None:
        """The charge of ``order_id``, voided or not, if there is one."""
        row = (await self._connection.execute(_OF_ORDER, {"order_id": order_id})).first()
        return None if row is None else Transaction(*row)

    async def void(self, order_id: int, *, now: datetime) -> Transaction | None:
        """Void the charge of ``order_id`` and take it off its user's totals; the voided
        charge, or ``None`` when there is none or it was voided already (nothing changes).

        The account is locked first, as a charge and pay-all lock it, so a void never
        interleaves with them (and the three never deadlock).
        """
        charge = await self.of_order(order_id)
        if charge is None or charge.is_voided:
            return None
        await self._connection.execute(
            select(account.c.user_id).where(account.c.user_id == charge.user_id).with_for_update()
        )
        voided = (
            update(transaction_table)
            .where(transaction_table.c.id == charge.id, transaction_table.c.is_voided.is_(False))
            .values(is_voided=True, voided_at=now)
            .returning(*_TRANSACTION)
        )
        row = (await self._connection.execute(voided)).first()
        if row is None:
            return None  # a concurrent void came first
        tx = Transaction(*row)
        unpaid = Decimal("0.00") if tx.is_paid else tx.amount
        await self._connection.execute(
            update(account)
            .where(account.c.user_id == tx.user_id)
            .values(
                total_amount=account.c.total_amount - tx.amount,
                unpaid_amount=account.c.unpaid_amount - unpaid,
            )
        )
        return tx

    async def clear_unpaid(self, user_id: int) -> None:
        """Zero the unpaid balance; it also locks the account so no charge slips in meanwhile."""
        statement = (
            update(account)
            .where(account.c.user_id == user_id)
            .values(unpaid_amount=Decimal("0.00"))
        )
        await self._connection.execute(statement)

    async def mark_all_paid(self, user_id: int, *, paid_at: datetime) -> int:
        """Mark every unpaid transaction of the user paid (a voided one is owed no more: it
        stays unpaid); returns how many."""
        statement = (
            update(transaction_table)
            .where(
                transaction_table.c.user_id == user_id,
                transaction_table.c.is_paid.is_(False),
                transaction_table.c.is_voided.is_(False),
            )
            .values(is_paid=True, paid_at=paid_at)
        )
        return rowcount(await self._connection.execute(statement))


class PaymentsUnitOfWork(UnitOfWork):
    """A payments use case's transaction: its transactions, idempotency records and outbox."""

    transactions: Transactions
    idempotency: IdempotencyRecords

    def open_repositories(self, connection: AsyncConnection) -> None:
        self.transactions = Transactions(connection, outbox=self.outbox)
        self.idempotency = IdempotencyRecords(connection, idempotency_record)
