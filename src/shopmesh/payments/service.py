"""Payments use cases: each is one database transaction, its events written to the outbox in it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.kit.app import ServiceRuntime
from shopmesh.kit.errors import Conflict
from shopmesh.kit.outbox import add_events
from shopmesh.payments import repository as repo
from shopmesh.payments.domain import (
    Balance,
    IdempotencyKeyReused,
    LimitPolicy,
    PayResult,
    Summary,
    Transaction,
    TransactionCreated,
    TransactionsPaid,
)

PRODUCER = "payments"
# A refused charge is tried again only when a concurrent pay-all freed room
# between the UPDATE and the read that explains the refusal; a few rounds at most.
_CHARGE_ATTEMPTS = 3

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """A use case's result; ``replayed`` when it is the stored answer to an earlier request."""

    value: T
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """An ``Idempotency-Key`` and a fingerprint of the request it came with."""

    key: str
    request_hash: str

    @classmethod
    def of(cls, key: str | None, **request: Any) -> IdempotentRequest | None:
        if key is None:
            return None
        canonical = orjson.dumps(request, option=orjson.OPT_SORT_KEYS, default=str)
        return cls(key=key, request_hash=hashlib.sha256(canonical).hexdigest())


class PaymentService:
    """The payments use cases over one service runtime."""

    def __init__(self, runtime: ServiceRuntime, *, policy: LimitPolicy) -> None:
        self._runtime = runtime
        self.policy = policy
        # PostgreSQL runs a charge without an Idempotency-Key as one statement.
        self._one_statement = not runtime.db.is_sqlite

    async def create_transaction(
        self,
        user_id: int,
        *,
        amount: Decimal,
        description: str,
        idempotency_key: str | None = None,
    ) -> Outcome[Transaction]:
        """Record a charge if it keeps the user within the limit, and announce it."""
        request = IdempotentRequest.of(
            idempotency_key, op="create", amount=str(amount), description=description
        )
        if request is None and self._one_statement:
            # One statement writes the charge, the transaction and its event: atomic by
            # itself, so no BEGIN and COMMIT round trips around it.
            async with self._runtime.connection(autocommit=True) as connection:
                tx = await self._charge(
                    connection, user_id, amount=amount, description=description, announce=True
                )
            return Outcome(tx)
        async with self._runtime.connection() as connection:
            earlier = await _replay(connection, user_id, request, Transaction.from_snapshot)
            if earlier is not None:
                return earlier
            tx = await self._charge(connection, user_id, amount=amount, description=description)
            await add_events(connection, _created_event(tx))
            await _remember(connection, user_id, request, tx.snapshot())
        return Outcome(tx)

    async def _charge(
        self,
        connection: AsyncConnection,
        user_id: int,
        *,
        amount: Decimal,
        description: str,
        announce: bool = False,
    ) -> Transaction:
        """Record the transaction and add ``amount`` to the user's totals, or raise
        ``LimitExceeded``. With ``announce`` (PostgreSQL), its event is written too."""
        for attempt in range(1, _CHARGE_ATTEMPTS + 1):
            # An amount over the limit on its own is refused whatever the balance; the
            # repository's charge takes it for granted when it creates the account.
            if self.policy.allows(Balance(), amount):
                tx = await self._charge_once(
                    connection, user_id, amount=amount, description=description, announce=announce
                )
                if tx is not None:
                    return tx
            balance = await repo.get_balance(connection, user_id)
            if attempt == _CHARGE_ATTEMPTS or not self.policy.allows(balance, amount):
                raise self.policy.refusal(balance.counted(self.policy.scope), amount)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _charge_once(
        self,
        connection: AsyncConnection,
        user_id: int,
        *,
        amount: Decimal,
        description: str,
        announce: bool,
    ) -> Transaction | None:
        now = datetime.now(UTC)
        if announce:
            pending = Transaction(
                id=0,  # the repository writes the event with the new id
                user_id=user_id,
                amount=amount,
                description=description,
                is_paid=False,
                created_at=now,
            )
            event = _created_event(pending)
            return await repo.charge_and_announce(connection, event, policy=self.policy)
        return await repo.charge(
            connection,
            user_id,
            amount=amount,
            policy=self.policy,
            description=description,
            created_at=now,
        )

    async def pay_all(
        self, user_id: int, *, idempotency_key: str | None = None
    ) -> Outcome[PayResult]:
        """Mark every unpaid transaction of the user paid; announce it when there were some."""
        request = IdempotentRequest.of(idempotency_key, op="pay")
        async with self._runtime.connection() as connection:
            earlier = await _replay(connection, user_id, request, PayResult.from_snapshot)
            if earlier is not None:
                return earlier
            # The account first: its row lock makes concurrent charges wait (or
            # commit first), so no charge stays unpaid while the balance says 0.
            await repo.clear_unpaid(connection, user_id)
            now = datetime.now(UTC)
            paid = await repo.mark_all_paid(connection, user_id, paid_at=now)
            result = PayResult(transactions_paid=paid)
            if paid:
                await add_events(connection, _paid_event(user_id, paid=paid, at=now))
            await _remember(connection, user_id, request, result.snapshot())
        return Outcome(result)

    async def list_transactions(
        self, user_id: int, *, limit: int = 1000, offset: int = 0
    ) -> list[Transaction]:
        """The user's transactions, newest first."""
        async with self._runtime.connection() as connection:
            return await repo.list_transactions(connection, user_id, limit=limit, offset=offset)

    async def summary(self, user_id: int) -> Summary:
        """The user's totals against the limit."""
        async with self._runtime.connection() as connection:
            balance = await repo.get_balance(connection, user_id)
        return Summary(balance=balance, policy=self.policy)


async def _replay(
    connection: AsyncConnection,
    user_id: int,
    request: IdempotentRequest | None,
    decode: Callable[[dict[str, Any]], T],
) -> Outcome[T] | None:
    """The stored answer when this key was used before; None when this request owns the key."""
    if request is None:
        return None
    earlier = await repo.claim_idempotency_key(
        connection,
        user_id,
        key=request.key,
        request_hash=request.request_hash,
        now=datetime.now(UTC),
    )
    if earlier is None:
        return None
    if earlier.request_hash != request.request_hash:
        raise IdempotencyKeyReused()
    if earlier.result is None:
        raise Conflict("a request with this Idempotency-Key is still in progress")
    return Outcome(decode(earlier.result), replayed=True)


async def _remember(
    connection: AsyncConnection,
    user_id: int,
    request: IdempotentRequest | None,
    result: dict[str, Any],
) -> None:
    if request is not None:
        await repo.store_idempotent_result(connection, user_id, key=request.key, result=result)


def _created_event(tx: Transaction) -> TransactionCreated:
    return TransactionCreated(
        producer=PRODUCER,
        transaction_id=tx.id,
        user_id=tx.user_id,
        amount=tx.amount,
        description=tx.description,
        timestamp=tx.created_at,
    )


def _paid_event(user_id: int, *, paid: int, at: datetime) -> TransactionsPaid:
    return TransactionsPaid(
        producer=PRODUCER, user_id=user_id, transactions_paid=paid, timestamp=at
    )
