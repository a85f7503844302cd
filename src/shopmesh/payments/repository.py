"""Payments tables and queries, and the payments unit of work. Nothing here commits.

A charge is the hot path: its statements are built once per dialect (and
limit scope) and reused, so SQLAlchemy's compiled cache serves them without
rebuilding a statement per request, and on PostgreSQL a charge is one
statement that commits by itself (see :meth:`Transactions.charge`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Index,
    LargeBinary,
    Numeric,
    String,
    Table,
    bindparam,
    false,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shopmesh.kit.db import (
    IdType,
    UTCDateTime,
    execute_alone,
    insert_for,
    new_metadata,
    rowcount,
)
from shopmesh.kit.idempotency import IdempotencyRecords, idempotency_table
from shopmesh.kit.outbox import Outbox
from shopmesh.kit.tables import outbox_message
from shopmesh.kit.uow import UnitOfWork
from shopmesh.payments.domain import (
    Balance,
    LimitPolicy,
    LimitScope,
    Transaction,
    TransactionCreated,
)

# Running totals may outgrow one transaction's NUMERIC(12, 2) when only unpaid money counts.
TotalType = Numeric(18, 2)


class Base(DeclarativeBase):
    metadata = new_metadata()


class TransactionRow(Base):
    __tablename__ = "payment_transaction"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payment_transaction_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False)
    is_paid: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountRow(Base):
    """One row per user: the totals the limit is checked against, updated atomically."""

    __tablename__ = "account"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    total_amount: Mapped[Decimal] = mapped_column(TotalType, nullable=False)
    unpaid_amount: Mapped[Decimal] = mapped_column(TotalType, nullable=False)


transaction_table = cast(Table, TransactionRow.__table__)
account = cast(Table, AccountRow.__table__)
idempotency_record = idempotency_table(Base.metadata)


@dataclass(frozen=True, slots=True)
class _ChargeStatements:
    """The statements of a charge on one dialect, for one limit scope."""

    # Adds :amount to the account (created if missing) if it stays within :limit;
    # returns the user id when it did. PostgreSQL: also inserts the transaction
    # and returns its id instead (one round trip for both).
    charge: Any
    # Inserts the transaction (SQLite, where a CTE cannot hold an INSERT); None on PostgreSQL.
    add: Any | None


@cache
def _charge_statements(dialect: str, scope: LimitScope) -> _ChargeStatements:
    amount = bindparam("amount", type_=account.c.total_amount.type)
    upsert = insert_for(dialect, account).values(
        user_id=bindparam("user_id"), total_amount=amount, unpaid_amount=amount
    )
    counted = account.c.unpaid_amount if scope is LimitScope.UNPAID else account.c.total_amount
    # The conflict branch runs on the locked, latest row: concurrent charges of one user
    # queue here until commit, and each sees the totals the one before it left.
    # ROUND keeps SQLite (which computes in binary floating point) exact to the cent.
    charge = upsert.on_conflict_do_update(
        index_elements=[account.c.user_id],
        set_={
            "total_amount": func.round(account.c.total_amount + upsert.excluded.total_amount, 2),
            "unpaid_amount": func.round(account.c.unpaid_amount + upsert.excluded.unpaid_amount, 2),
        },
        where=func.round(counted + upsert.excluded.total_amount, 2)
        <= bindparam("limit", type_=account.c.total_amount.type),
    ).returning(account.c.user_id)
    values = {
        "amount": bindparam("amount", type_=transaction_table.c.amount.type),
        "description": bindparam("description", type_=transaction_table.c.description.type),
        "is_paid": false(),
        "created_at": bindparam("created_at", type_=transaction_table.c.created_at.type),
    }
    if dialect != "postgresql":
        add = (
            transaction_table.insert()
            .values(user_id=bindparam("user_id"), **values)
            .returning(transaction_table.c.id)
        )
        return _ChargeStatements(charge=charge, add=add)
    charged = charge.cte("charged")
    rows = select(charged.c.user_id, *(v.label(k) for k, v in values.items()))
    both = (
        transaction_table.insert()
        .from_select(["user_id", *values], rows)
        .returning(transaction_table.c.id)
    )
    return _ChargeStatements(charge=both, add=None)


# PostgreSQL: the charge's event is made by Python before the id exists: made with this id,
# then cut around it, and the statement puts the real id between the two parts. In JSON
# the key with its quotes and colon cannot occur inside a string value (quotes there are
# escaped), so the cut is at the field itself.
_ID_PLACEHOLDER = 0
_ID_FIELD = b'"transaction_id":'


@cache
def _announced_charge(scope: LimitScope) -> Any:
    """PostgreSQL: the charge, the transaction row and its outbox row in one statement."""
    charged_tx = _charge_statements("postgresql", scope).charge.cte("tx")
    payload = (
        bindparam("payload_head", type_=LargeBinary)
        .op("||")(func.convert_to(func.cast(charged_tx.c.id, String), "UTF8"))
        .op("||")(bindparam("payload_tail", type_=LargeBinary))
    )
    columns = ["event_id", "topic", "key", "event_type", "traceparent", "created_at"]
    rows = select(
        *(bindparam(f"outbox_{c}", type_=outbox_message.c[c].type) for c in columns),
        payload.label("payload"),
    ).select_from(charged_tx)
    announced = (
        outbox_message.insert()
        .from_select([*columns, "payload"], rows)
        .returning(outbox_message.c.id)
        .cte("announced")
    )
    return select(charged_tx.c.id).add_cte(announced)


def cut_payload(payload: bytes) -> tuple[bytes, bytes]:
    """``payload`` (made with the placeholder id) as the parts before and after the id."""
    head, found, tail = payload.partition(_ID_FIELD + str(_ID_PLACEHOLDER).encode())
    if not found or tail[:1] not in (b",", b"}") or _ID_FIELD in tail:
        raise ValueError("transaction_id is not a top-level field of the payload")
    return head + _ID_FIELD, tail


_BALANCE = select(account.c.total_amount, account.c.unpaid_amount).where(
    account.c.user_id == bindparam("user_id")
)


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
            id=_ID_PLACEHOLDER,
            user_id=user_id,
            amount=amount,
            description=description,
            is_paid=False,
            created_at=created_at,
        )
        params: dict[str, Any] = {
            "user_id": user_id,
            "amount": amount,
            "limit": policy.limit,
            "description": description,
            "created_at": created_at,
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
        row = self._outbox.hand_over(TransactionCreated.of(pending))
        head, tail = cut_payload(row.pop("payload"))
        params |= {f"outbox_{column}": value for column, value in row.items()}
        params |= {"payload_head": head, "payload_tail": tail}
        result = await execute_alone(self._connection, _announced_charge(scope), params)
        new_id = result.scalar_one_or_none()
        return None if new_id is None else int(new_id)

    async def _charge_then_add(self, params: dict[str, Any], scope: LimitScope) -> int | None:
        statements = _charge_statements(self._dialect, scope)
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
            select(
                transaction_table.c.id,
                transaction_table.c.user_id,
                transaction_table.c.amount,
                transaction_table.c.description,
                transaction_table.c.is_paid,
                transaction_table.c.created_at,
            )
            .where(transaction_table.c.user_id == user_id)
            .order_by(transaction_table.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [Transaction(*row) for row in (await self._connection.execute(query)).all()]

    async def clear_unpaid(self, user_id: int) -> None:
        """Zero the unpaid balance; it also locks the account so no charge slips in meanwhile."""
        statement = (
            update(account)
            .where(account.c.user_id == user_id)
            .values(unpaid_amount=Decimal("0.00"))
        )
        await self._connection.execute(statement)

    async def mark_all_paid(self, user_id: int, *, paid_at: datetime) -> int:
        """Mark every unpaid transaction of the user paid; returns how many."""
        statement = (
            update(transaction_table)
            .where(transaction_table.c.user_id == user_id, transaction_table.c.is_paid.is_(False))
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
