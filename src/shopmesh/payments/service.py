"""Payments use cases: each is one unit of work, its events written to the outbox in it."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from shopmesh.kit.clock import utcnow
from shopmesh.kit.idempotency import IdempotentRequest, Outcome
from shopmesh.payments.domain import (
    Balance,
    LimitExceeded,
    LimitPolicy,
    OrderCharge,
    PayResult,
    Summary,
    Transaction,
    TransactionsPaid,
    TransactionVoided,
)
from shopmesh.payments.repository import PaymentsUnitOfWork

# A refused charge is tried again only when a concurrent pay-all freed room
# between the UPDATE and the read that explains the refusal; a few rounds at most.
_CHARGE_ATTEMPTS = 3


class PaymentService:
    """The payments use cases, each in a unit of work from ``units``."""

    def __init__(self, units: Callable[[], PaymentsUnitOfWork], *, policy: LimitPolicy) -> None:
        self._units = units
        self.policy = policy

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
            idempotency_key, {"op": "create", "amount": str(amount), "description": description}
        )
        async with self._units() as uow:
            if request is not None:
                earlier = await uow.idempotency.claim(user_id, request, now=utcnow())
                if earlier is not None:
                    return Outcome(Transaction.from_snapshot(earlier), replayed=True)
            tx = await self._charge(uow, user_id, amount=amount, description=description)
            if request is not None:
                await uow.idempotency.remember(user_id, request, tx.snapshot())
        return Outcome(tx)

    async def charge_order(self, uow: PaymentsUnitOfWork, order: OrderCharge) -> None:
        """``order.created`` in the consumer's unit of work: charge the order within the limit,
        as a transaction of its customer, and announce ``payment.authorized`` or
        ``payment.declined``. Idempotent per order: an order charged before is not charged
        again (nor announced again: its outcome is on its way already)."""
        if await uow.transactions.of_order(order.order_id) is not None:
            return
        if order.amount <= 0:  # a free order: nothing to charge
            uow.outbox.add(order.authorized(None))
            return
        try:
            tx = await self._charge(
                uow,
                order.user_id,
                amount=order.amount,
                description=order.description,
                order_id=order.order_id,
            )
        except LimitExceeded as refusal:
            uow.outbox.add(order.declined(refusal.code))
            return
        uow.outbox.add(order.authorized(tx.id))

    async def void_order(self, uow: PaymentsUnitOfWork, order_id: int) -> None:
        """``order.cancelled`` in the consumer's unit of work: the order's charge is voided
        (it stops counting toward the limit) and ``transaction.voided`` announced; an order
        without a live charge changes nothing."""
        now = utcnow()
        tx = await uow.transactions.void(order_id, now=now)
        if tx is not None:
            uow.outbox.add(TransactionVoided.of(tx, at=now))

    async def _charge(
        self,
        uow: PaymentsUnitOfWork,
        user_id: int,
        *,
        amount: Decimal,
        description: str,
        order_id: int | None = None,
    ) -> Transaction:
        """Record the transaction, add ``amount`` to the user's totals and announce it
        (``transaction.created``), or raise ``LimitExceeded``."""
        for attempt in range(1, _CHARGE_ATTEMPTS + 1):
            # An amount over the limit on its own is refused whatever the balance; the
            # repository's charge takes it for granted when it creates the account.
            if self.policy.allows(Balance(), amount):
                tx = await uow.transactions.charge(
                    user_id,
                    amount=amount,
                    policy=self.policy,
                    description=description,
                    created_at=utcnow(),
                    order_id=order_id,
                )
                if tx is not None:
                    return tx
            balance = await uow.transactions.balance(user_id)
            if attempt == _CHARGE_ATTEMPTS or not self.policy.allows(balance, amount):
                raise self.policy.refusal(balance.counted(self.policy.scope), amount)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def pay_all(
        self, user_id: int, *, idempotency_key: str | None = None
    ) -> Outcome[PayResult]:
        """Mark every unpaid transaction of the user paid; announce it when there were some."""
        request = IdempotentRequest.of(idempotency_key, {"op": "pay"})
        async with self._units() as uow:
            if request is not None:
                earlier = await uow.idempotency.claim(user_id, request, now=utcnow())
                if earlier is not None:
                    return Outcome(PayResult.from_snapshot(earlier), replayed=True)
            # The account first: its row lock makes concurrent charges wait (or
            # commit first), so no charge stays unpaid while the balance says 0.
            await uow.transactions.clear_unpaid(user_id)
            now = utcnow()
            paid = await uow.transactions.mark_all_paid(user_id, paid_at=now)
            if paid:
                uow.outbox.add(TransactionsPaid.of(user_id, paid=paid, at=now))
            result = PayResult(transactions_paid=paid)
            if request is not None:
                await uow.idempotency.remember(user_id, request, result.snapshot())
        return Outcome(result)

    async def list_transactions(
        self, user_id: int, *, limit: int = 1000, offset: int = 0
    ) -> list[Transaction]:
        """The user's transactions, newest first."""
        async with self._units() as uow:
            return await uow.transactions.of_user(user_id, limit=limit, offset=offset)

    async def summary(self, user_id: int) -> Summary:
        """The user's totals against the limit."""
        async with self._units() as uow:
            balance = await uow.transactions.balance(user_id)
        return Summary(balance=balance, policy=self.policy)
