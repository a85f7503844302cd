"""Retention: rows a service no longer needs are deleted in the background, a few at a time.

A :class:`RetentionRule` names a table, the timestamp column that ages its rows, how long
a row is kept after that time, and optionally a condition a row must also meet. The kit
keeps its own tables bounded (:func:`kit_rules`: published outbox rows, consumers'
processed-event records); each service adds the rules of its own tables in its wiring.

:class:`Retention` (one background task per service) deletes what is due in small
batches, each one plain ``DELETE`` in a short transaction of its own, apart from any
use case's: the rows of a batch are chosen with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so a row a request is working on is left for the next pass and no request
waits on the pruning. Every time column a rule names is indexed, so a batch finds its
rows without reading the table.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, select, tuple_

from shopmesh.kit.aio import retrying
from shopmesh.kit.clock import utcnow
from shopmesh.kit.db import Database, rowcount
from shopmesh.kit.metrics import RETENTION_DELETED
from shopmesh.kit.settings import ServiceSettings
from shopmesh.kit.tables import outbox_message, processed_event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionRule:
    """Rows of ``table`` whose ``column`` is older than ``keep`` (and that meet ``only``,
    when given) are deleted. A row whose ``column`` is NULL is kept."""

    table: Table
    column: ColumnElement[Any]
    keep: timedelta
    only: ColumnElement[bool] | None = None

    @property
    def name(self) -> str:
        return self.table.name

    def due(self, cutoff: datetime) -> ColumnElement[bool]:
        condition = self.column < cutoff
        return condition if self.only is None else condition & self.only


def kit_rules(settings: ServiceSettings) -> list[RetentionRule]:
    """The kit's own tables: outbox rows once published, processed-event (dedup) records."""
    return [
        RetentionRule(outbox_message, outbox_message.c.published_at, settings.outbox_retention),
        RetentionRule(
            processed_event, processed_event.c.processed_at, settings.processed_event_retention
        ),
    ]


def service_retention(
    db: Database, settings: ServiceSettings, rules: Sequence[RetentionRule]
) -> Retention:
    """A service's retention task: the kit's tables and the service's ``rules``, paced by
    ``settings`` (``retention_interval``, ``retention_batch_size``)."""
    return Retention(
        db,
        [*kit_rules(settings), *rules],
        service=settings.service_name,
        interval=settings.retention_interval,
        batch_size=settings.retention_batch_size,
    )


class Retention:
    """Deletes what the rules say is due; run :meth:`run` as a background task.

    A pass goes through every rule, ``batch_size`` rows per ``DELETE``, ``pause`` seconds
    between two batches (the pass never holds a connection or the event loop for long),
    until a batch comes back short; then the task sleeps ``interval`` seconds.
    """

    def __init__(
        self,
        db: Database,
        rules: Sequence[RetentionRule],
        *,
        service: str,
        interval: float = 60.0,
        batch_size: int = 500,
        pause: float = 0.05,
    ) -> None:
        self._db = db
        self._rules = tuple(rules)
        self._service = service
        self._interval = interval
        self._batch_size = batch_size
        self._pause = pause

    async def run(self) -> None:
        """Prune forever; a database outage pauses it (logged) until the next interval."""
        await retrying(self._passes, what="retention", pause=self._interval, log=log)

    async def _passes(self) -> None:
        while True:
            await self.prune()
            await asyncio.sleep(self._interval)

    async def prune(self, now: datetime | None = None) -> dict[str, int]:
        """One pass: delete every row due at ``now`` (default: the current time).

        Returns how many rows each table lost.
        """
        now = now or utcnow()
        deleted: dict[str, int] = {}
        for rule in self._rules:
            statement = self._delete_batch(rule, now - rule.keep)
            total = 0
            while True:
                async with self._db.connection(autocommit=True) as connection:
                    count = rowcount(await connection.execute(statement))
                total += count
                if count < self._batch_size:
                    break
                await asyncio.sleep(self._pause)
            if total:
                RETENTION_DELETED.labels(self._service, rule.name).inc(total)
                log.debug("retention deleted %d rows of %s", total, rule.name)
            deleted[rule.name] = total
        return deleted

    def _delete_batch(self, rule: RetentionRule, cutoff: datetime) -> Any:
        keys = list(rule.table.primary_key.columns)
        chosen = (
            select(*keys)
            .where(rule.due(cutoff))
            .limit(self._batch_size)
            # PostgreSQL: rows locked by a request are not waited on (SQLite renders no lock).
            .with_for_update(skip_locked=True)
        )
        if len(keys) == 1:
            return delete(rule.table).where(keys[0].in_(chosen.scalar_subquery()))
        return delete(rule.table).where(tuple_(*keys).in_(chosen))
