"""Every table that grows with traffic stops growing: a steady run per table, scaled down.

Each case migrates the service's real schema on the test PostgreSQL, takes the retention
rule the service runs (the kit's for the outbox and the dedup records, the service's
``retention_rules`` for its own tables) with its age scaled from days to a second, and
runs its real pass at the task's interval while rows arrive at a steady rate, as the
service writes them, on a clock of the run's own. The table must level off near what the
age implies while far more rows went in, and rows the rule must keep (never published,
failed, not yet expired) must stay.

The cases run side by side, each on a database of its own: one run for the module, each
test checks its case's result.
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Table, func, select

from shopmesh.kit.db import Database
from shopmesh.kit.retention import Retention, RetentionRule, kit_rules
from tests.conftest import fresh_database
from tests.support import migrated_database

pytestmark = pytest.mark.postgres

KEEP = timedelta(seconds=1)  # every age, scaled down from days
INTERVAL = 0.2  # seconds between two passes
BATCH = 15  # rows per DELETE, below what a pass finds due: passes take several batches
RUN = 6.0  # seconds of steady traffic (on the run's own clock)
TICK = 0.1  # seconds between two inserts
PER_TICK = 20  # rows per insert: 200 rows a second

Row = Callable[[datetime], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    service: str
    table: str
    settings: dict[str, Any]  # the service's retention setting, scaled down
    row: Row  # a row as the service writes it at a given time
    kept: Row  # a row the rule must never delete

    @property
    def table_id(self) -> str:
        return f"{self.service}.{self.table}"


def _id() -> str:
    return str(uuid.uuid4())


def outbox(published: bool) -> Row:
    return lambda now: {
        "event_id": _id(),
        "topic": "transactions",
        "key": "7",
        "event_type": "transaction.created",
        "payload": b"{}",
        "created_at": now,
        "published_at": now if published else None,
    }


def processed(now: datetime) -> dict[str, Any]:
    return {
        "consumer": "analytics",
        "event_id": _id(),
        "topic": "transactions",
        "partition": 0,
        "offset": 1,
        "processed_at": now,
    }


def idempotency_key(result: Any) -> Row:
    """A row of the kit's idempotency table (payments' and orders' alike)."""
    return lambda now: {
        "owner_id": 7,
        "key": _id(),
        "request_hash": "h",
        "result": result,
        "created_at": now,
    }


def refresh_token(expires_in: timedelta) -> Row:
    return lambda now: {
        "token_hash": uuid.uuid4().hex,
        "user_id": 1,
        "family_id": _id(),
        "created_at": now,
        "expires_at": now + expires_in,
    }


def webhook(status: str) -> Row:
    return lambda now: {
        "shipment_id": 1,
        "order_id": 1,
        "url": "http://127.0.0.1:1/hook",
        "payload": "{}",
        "attempts": 1,
        "status": status,
        "next_attempt_at": now,
        "created_at": now,
        "delivered_at": now if status == "delivered" else None,
    }


CASES = [
    Case("payments", "outbox_message", {"outbox_retention": KEEP}, outbox(True), outbox(False)),
    Case(
        "analytics",
        "processed_event",
        {"processed_event_retention": KEEP},
        processed,
        lambda now: {**processed(now), "processed_at": now + timedelta(days=1)},
    ),
    Case(
        "payments",
        "idempotency_record",
        {"idempotency_retention": KEEP},
        idempotency_key({}),
        lambda now: {**idempotency_key({})(now), "created_at": now + timedelta(days=1)},
    ),
    Case(
        "orders",
        "idempotency_record",
        {"idempotency_retention": KEEP},
        idempotency_key([1]),
        lambda now: {**idempotency_key([1])(now), "created_at": now + timedelta(days=1)},
    ),
    # Deleted at expiry: a token issued now with a one-second life (the 14 days, scaled).
    Case("auth", "refresh_token", {}, refresh_token(KEEP), refresh_token(timedelta(days=14))),
    Case(
        "dispatcher",
        "webhook_delivery",
        {"webhook_retention": KEEP},
        webhook("delivered"),
        webhook("failed"),
    ),
]


def _rule(case: Case) -> RetentionRule:
    main = importlib.import_module(f"shopmesh.{case.service}.main")
    settings = importlib.import_module(f"shopmesh.{case.service}.settings").Settings(
        **case.settings
    )
    rules = [*kit_rules(settings), *getattr(main, "retention_rules", lambda _s: [])(settings)]
    (rule,) = [rule for rule in rules if rule.name == case.table]
    return rule


async def _prepare(db: Database, case: Case, table: Table) -> set[tuple[Any, ...]]:
    """The rows the rule must keep, written first; their keys."""
    keys = list(table.primary_key.columns)
    async with db.connection() as connection:
        if case.table == "refresh_token":  # its rows belong to an account
            await connection.exec_driver_sql(
                "INSERT INTO user_account (id, username, username_key, password_hash, role,"
                " created_at) VALUES (1, 'ada', 'ada', 'x', 'user', now())"
            )
        rows = [case.kept(datetime.now(UTC)) for _ in range(5)]
        written = await connection.execute(table.insert().returning(*keys), rows)
        return {tuple(row) for row in written}


async def _count(db: Database, table: Table) -> int:
    async with db.connection() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def _steady_run(
    db: Database, case: Case, table: Table
) -> tuple[int, list[tuple[float, int]]]:
    """Rows in at a steady rate with a retention pass every ``INTERVAL``, on a clock of the
    run's own: (rows inserted, (time, count) samples).

    The clock moves a tick per insert, so the rows' ages and the passes' times are what
    the rate says however busy the machine is (on the wall clock, a pass starved of CPU
    let the table grow as if retention had stopped). The background task around the
    pass is the kit's own test's (tests/kit/test_retention.py).
    """
    retention = Retention(
        db, [_rule(case)], service=case.service, interval=INTERVAL, batch_size=BATCH, pause=0
    )
    start = datetime.now(UTC)
    inserted, samples, next_pass = 0, [], INTERVAL
    for tick in range(round(RUN / TICK)):
        elapsed = tick * TICK
        now = start + timedelta(seconds=elapsed)
        async with db.connection() as connection:
            await connection.execute(table.insert(), [case.row(now) for _ in range(PER_TICK)])
        inserted += PER_TICK
        if elapsed >= next_pass:
            await retention.prune(now)
            next_pass += INTERVAL
        samples.append((elapsed, await _count(db, table)))
    return inserted, samples


@dataclass(frozen=True)
class Outcome:
    inserted: int
    samples: list[tuple[float, int]]  # (seconds into the run, rows in the table)
    kept: set[tuple[Any, ...]]  # keys of the rows the rule must keep
    found: set[tuple[Any, ...]]  # keys of every row left at the end


async def _found(db: Database, table: Table) -> set[tuple[Any, ...]]:
    async with db.connection() as connection:
        return {tuple(row) for row in await connection.execute(select(*table.primary_key.columns))}


@pytest.fixture(scope="module")
async def outcomes(postgres_admin: asyncpg.Connection) -> dict[str, Outcome]:
    """Every case's steady run, all at once. The databases are made and migrated one by one
    first: one admin connection runs one statement at a time, and Alembic's context is global.
    """
    async with AsyncExitStack() as stack:
        prepared = []
        for case in CASES:
            url = await stack.enter_async_context(fresh_database(postgres_admin))
            migrations = f"shopmesh.{case.service}:migrations"
            db = await stack.enter_async_context(migrated_database(url, migrations))
            table = _rule(case).table
            prepared.append((db, case, table, await _prepare(db, case, table)))
        runs = await asyncio.gather(*(_steady_run(*run[:3]) for run in prepared))
        return {
            case.table_id: Outcome(inserted, samples, kept, await _found(db, table))
            for (db, case, table, kept), (inserted, samples) in zip(prepared, runs, strict=True)
        }


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.table_id)
def test_the_table_stops_growing_under_steady_traffic(
    outcomes: dict[str, Outcome], case: Case
) -> None:
    outcome = outcomes[case.table_id]
    inserted, samples = outcome.inserted, outcome.samples
    settled = [count for at, count in samples if at > RUN / 3]
    first, last = settled[: len(settled) // 2], settled[len(settled) // 2 :]
    rate = inserted / samples[-1][0]
    # A row lives its age, then waits at most a pass or two: what the settings imply.
    bound = 5 + rate * (KEEP.total_seconds() + 3 * INTERVAL) + PER_TICK
    assert max(settled) <= bound, (bound, samples)
    assert max(last) <= max(first) * 1.25 + PER_TICK, samples  # level, not climbing
    assert inserted >= 3 * max(last), (inserted, samples)
    # The rows the rule must keep are all still there.
    assert outcome.kept <= outcome.found
