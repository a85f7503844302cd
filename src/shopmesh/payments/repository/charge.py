"""The statements of a charge, built once per dialect and limit scope.

A charge is the hot path: SQLAlchemy's compiled cache serves statements that
are built once and reused. On PostgreSQL the account upsert, the transaction
row and its outbox row are one statement: its event is made by Python before
the id exists, made with a placeholder id, then cut around it, and the
statement puts the real id between the two parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import LargeBinary, String, bindparam, false, func, select

from shopmesh.kit.db import insert_for
from shopmesh.kit.outbox import announced_by
from shopmesh.payments.domain import LimitScope
from shopmesh.payments.repository.tables import account, transaction_table


@dataclass(frozen=True, slots=True)
class ChargeStatements:
    """The statements of a charge on one dialect, for one limit scope."""

    # Adds :amount to the account (created if missing) if it stays within :limit;
    # returns the user id when it did. PostgreSQL: also inserts the transaction
    # and returns its id instead (one round trip for both).
    charge: Any
    # Inserts the transaction (SQLite, where a CTE cannot hold an INSERT); None on PostgreSQL.
    add: Any | None


@cache
def charge_statements(dialect: str, scope: LimitScope) -> ChargeStatements:
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
        "order_id": bindparam("order_id", type_=transaction_table.c.order_id.type),
    }
    if dialect != "postgresql":
        add = (
            transaction_table.insert()
            .values(user_id=bindparam("user_id"), **values)
            .returning(transaction_table.c.id)
        )
        return ChargeStatements(charge=charge, add=add)
    charged = charge.cte("charged")
    rows = select(charged.c.user_id, *(v.label(k) for k, v in values.items()))
    both = (
        transaction_table.insert()
        .from_select(["user_id", *values], rows)
        .returning(transaction_table.c.id)
    )
    return ChargeStatements(charge=both, add=None)


# In JSON the key with its quotes and colon cannot occur inside a string value (quotes
# there are escaped), so the cut is at the field itself.
ID_PLACEHOLDER = 0
_ID_FIELD = b'"transaction_id":'


@cache
def announced_charge(scope: LimitScope) -> Any:
    """PostgreSQL: the charge, the transaction row and its outbox row in one statement."""
    charged_tx = charge_statements("postgresql", scope).charge.cte("tx")
    payload = (
        bindparam("payload_head", type_=LargeBinary)
        .op("||")(func.convert_to(func.cast(charged_tx.c.id, String), "UTF8"))
        .op("||")(bindparam("payload_tail", type_=LargeBinary))
    )
    return select(charged_tx.c.id).add_cte(announced_by(charged_tx, payload=payload))


def cut_payload(payload: bytes) -> tuple[bytes, bytes]:
    """``payload`` (made with the placeholder id) as the parts before and after the id."""
    head, found, tail = payload.partition(_ID_FIELD + str(ID_PLACEHOLDER).encode())
    if not found or tail[:1] not in (b",", b"}") or _ID_FIELD in tail:
        raise ValueError("transaction_id is not a top-level field of the payload")
    return head + _ID_FIELD, tail
