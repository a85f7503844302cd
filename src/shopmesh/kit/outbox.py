"""The transactional outbox: events are rows written with the state change, then relayed.

A use case adds its events to its unit of work's :class:`Outbox`
(``uow.outbox.add(event)``), which writes them in the use case's transaction
(see :mod:`shopmesh.kit.uow`); the relay (:mod:`shopmesh.kit.relay`, one background
task per service) publishes unsent rows in id order with an idempotent producer and
marks them sent. A crash between publish and mark re-sends the batch;
consumers drop the duplicates by ``event_id``, so nothing is lost and nothing
is applied twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CTE, ColumnElement, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.kit.db import Database
from shopmesh.kit.events import Event
from shopmesh.kit.logging import traceparent_var
from shopmesh.kit.tables import outbox_message


class Outbox:
    """The events one unit of work announces, written to the outbox table in its transaction.

    Each event keeps the trace context it was added in (a consumer's batch adds
    events in each source event's own context), so the flow's trace goes on
    through Kafka.
    """

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] = []
        self.handed_over = 0

    def add(self, *events: Event) -> None:
        """Announce ``events`` if the unit of work commits."""
        traceparent = traceparent_var.get()
        self._rows.extend(_row(event, traceparent) for event in events)

    def __len__(self) -> int:
        return len(self._rows)

    def hand_over(self, event: Event) -> dict[str, Any]:
        """``event``'s ``outbox_message`` row as the parameters of :func:`announced_by`, for a
        repository statement that writes it itself (a change and its event in one round
        trip); once the unit commits, the relay is woken as for the events written here."""
        self.handed_over += 1
        row = _row(event, traceparent_var.get())
        return {_PARAM + column: value for column, value in row.items()}

    async def write(self, connection: AsyncConnection) -> bool:
        """Insert the pending events (one statement) on ``connection``, in its transaction;
        whether there were any. What is written is no longer pending."""
        if not self._rows:
            return False
        rows, self._rows = self._rows, []
        await connection.execute(_INSERT, rows)
        return True


# Built once: SQLAlchemy computes a statement's cache key each time one is built.
_INSERT = outbox_message.insert()
_PARAM = "outbox_"  # the prefix of the parameters announced_by binds
_COLUMNS = ("event_id", "topic", "key", "event_type", "payload", "traceparent", "created_at")


def announced_by(change: CTE, *, payload: ColumnElement[Any] | None = None) -> CTE:
    """PostgreSQL: a CTE writing the outbox row :meth:`Outbox.hand_over` gave (bound by its
    parameters) once for each row ``change`` returns, so none when the change matched no
    row. ``payload``, an expression over ``change``, replaces the bound payload."""
    values: dict[str, ColumnElement[Any]] = {
        c: bindparam(_PARAM + c, type_=outbox_message.c[c].type) for c in _COLUMNS
    }
    if payload is not None:
        values["payload"] = payload
    rows = select(*(value.label(column) for column, value in values.items()))
    return (
        outbox_message.insert()
        .from_select(list(values), rows.select_from(change))
        .returning(outbox_message.c.id)
        .cte("announced")
    )


def _row(event: Event, traceparent: str | None) -> dict[str, Any]:
    return {
        "event_id": str(event.event_id),
        "topic": event.topic,
        "key": event.key(),
        "event_type": event.event_type,
        "payload": event.to_bytes(),
        "traceparent": traceparent,
        "created_at": event.occurred_at,
    }


async def outbox_backlog(db: Database) -> int:
    """How many events wait to be published."""
    async with db.connection(autocommit=True) as connection:
        query = select(func.count()).where(outbox_message.c.published_at.is_(None))
        return int((await connection.execute(query)).scalar_one())
