"""PostgreSQL: a batch's deltas folded into the user rows and the stats row in one statement.

The stats row is locked first; the users' deltas are upserted (a new user's
row is its delta) in user id order; the stats row then takes the batch's total
and, as new users, the rows that upsert inserted (``xmax = 0``: a row the
statement created; a concurrent insert of the same user waits, then updates).
Both are upserts, so a lost stats row is recreated by the same statement. The
stats row, then the users in id order, as the SQLite path and earlier versions
lock them: concurrent batches queue instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from sqlalchemy import text

from shopmesh.analytics.domain import StatsDelta

FOLD_ON_POSTGRESQL = text(
    """WITH locked AS (SELECT id FROM stats WHERE id = :stats_id FOR UPDATE),
    users AS (
        INSERT INTO user_stats AS u
            (user_id, transactions, amount, paid_transactions, last_event_time)
        SELECT d.user_id, d.transactions, d.amount, d.paid_transactions, d.last_event_time
        FROM unnest(
            CAST(:user_ids AS bigint[]), CAST(:transactions AS bigint[]),
            CAST(:amounts AS numeric[]), CAST(:paid AS bigint[]),
            CAST(:event_times AS timestamptz[])
        ) AS d(user_id, transactions, amount, paid_transactions, last_event_time)
        CROSS JOIN (SELECT count(*) FROM locked) AS first_the_stats_row
        ORDER BY d.user_id
        ON CONFLICT (user_id) DO UPDATE SET
            transactions = u.transactions + excluded.transactions,
            amount = round(u.amount + excluded.amount, 2),
            paid_transactions = u.paid_transactions + excluded.paid_transactions,
            last_event_time = GREATEST(u.last_event_time, excluded.last_event_time)
        RETURNING xmax = 0 AS inserted
    )
    INSERT INTO stats AS s
        (id, total_transactions, total_amount, total_paid_transactions, events_processed,
         unique_users, last_event_time)
    SELECT :stats_id, :total_transactions, :total_amount, :total_paid, :events,
        (SELECT count(*) FROM users WHERE inserted), :last_event_time
    ON CONFLICT (id) DO UPDATE SET
        total_transactions = s.total_transactions + excluded.total_transactions,
        total_amount = round(s.total_amount + excluded.total_amount, 2),
        total_paid_transactions = s.total_paid_transactions + excluded.total_paid_transactions,
        events_processed = s.events_processed + excluded.events_processed,
        unique_users = s.unique_users + excluded.unique_users,
        last_event_time = GREATEST(s.last_event_time, excluded.last_event_time)"""
)


def fold_params(
    stats_id: int, per_user: Mapping[int, StatsDelta], total: StatsDelta, *, events: int
) -> dict[str, Any]:
    """The parameters of :data:`FOLD_ON_POSTGRESQL` for the batch's deltas, folded ``per_user``
    and in ``total`` (GREATEST ignores a row's NULL time: its first event's time is taken)."""
    users = [per_user[user_id] for user_id in sorted(per_user)]
    return {
        "user_ids": [d.user_id for d in users],
        "transactions": [d.transactions for d in users],
        "amounts": [d.amount for d in users],
        "paid": [d.paid_transactions for d in users],
        "event_times": [d.event_time.astimezone(UTC) for d in users],
        "stats_id": stats_id,
        "total_transactions": total.transactions,
        "total_amount": total.amount,
        "total_paid": total.paid_transactions,
        "events": events,
        "last_event_time": total.event_time.astimezone(UTC),
    }
