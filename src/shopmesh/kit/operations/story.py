"""What one service knows of a subject's story: the events it produced about it (its
outbox) and which of a list of events its consumers applied, and when (their
processed-event records). ``shopmesh trace`` and the console page put every service's
part together.

An event is *about* a subject by the platform's naming of payload fields: about order 42
when its ``order_id`` is 42, or when it is an ``order.*`` event whose ``id`` is 42; about
user 7 through ``user_id`` or ``customer_id``; about transaction 9 through
``transaction_id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import select

from shopmesh.kit.db import Database
from shopmesh.kit.tables import outbox_message, processed_event

Subject = Literal["order", "user", "transaction"]
# The newest outbox rows a story looks through (published rows are kept a day by default).
SCAN_LIMIT = 20_000
_ALIASES: dict[str, tuple[str, ...]] = {"user": ("customer_id",)}


@dataclass(frozen=True, slots=True)
class ProducedEvent:
    """An event from a producer's outbox: published (when) or still waiting."""

    event_id: str
    event_type: str
    topic: str
    key: str
    occurred_at: datetime
    published_at: datetime | None
    trace_id: str | None


@dataclass(frozen=True, slots=True)
class AppliedEvent:
    """A consumer group's record of having applied an event."""

    event_id: str
    consumer: str
    applied_at: datetime


def is_about(payload: dict[str, Any], event_type: str, subject: Subject, subject_id: str) -> bool:
    """Whether the event names ``subject`` ``subject_id`` (see the module's note)."""
    fields = [f"{subject}_id", *_ALIASES.get(subject, ())]
    if event_type.startswith(f"{subject}."):
        fields.append("id")
    return any(f in payload and str(payload[f]) == subject_id for f in fields)


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a W3C ``traceparent`` (``00-<trace id>-<span id>-<flags>``)."""
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 else None


async def produced_about(db: Database, subject: Subject, subject_id: str) -> list[ProducedEvent]:
    """The events in ``db``'s outbox about the subject, oldest first."""
    table = outbox_message
    query = select(table).order_by(table.c.id.desc()).limit(SCAN_LIMIT)
    async with db.connection(autocommit=True) as connection:
        rows = (await connection.execute(query)).all()
    found = []
    for row in reversed(rows):
        try:
            payload = orjson.loads(row.payload)
        except orjson.JSONDecodeError:
            continue
        if isinstance(payload, dict) and is_about(payload, row.event_type, subject, subject_id):
            found.append(
                ProducedEvent(
                    event_id=row.event_id,
                    event_type=row.event_type,
                    topic=row.topic,
                    key=row.key,
                    occurred_at=row.created_at,
                    published_at=row.published_at,
                    trace_id=trace_id_of(row.traceparent),
                )
            )
    return found


async def applied_of(db: Database, event_ids: Sequence[str]) -> list[AppliedEvent]:
    """The processed-event records in ``db`` of ``event_ids``, by any consumer group."""
    table = processed_event
    query = select(table.c.event_id, table.c.consumer, table.c.processed_at).where(
        table.c.event_id.in_(list(event_ids))
    )
    async with db.connection(autocommit=True) as connection:
        rows = (await connection.execute(query)).all()
    return [AppliedEvent(r.event_id, r.consumer, r.processed_at) for r in rows]
