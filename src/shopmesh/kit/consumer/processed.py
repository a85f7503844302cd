"""The ``processed_event`` table from a consumer's side: which events of a batch are new.

A consumer records a batch's event ids in the same transaction as their
effect, before applying them; the ids it could record are the events it has
not applied before. A copy of the batch applied at the same time in another
transaction (a rebalance) waits on the first one's rows, then records none.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.kit.clock import utcnow
from shopmesh.kit.db import execute_alone
from shopmesh.kit.events import EventEnvelope
from shopmesh.kit.tables import processed_event

# PostgreSQL: the whole batch as arrays, one statement however many events.
_RECORD_ON_POSTGRESQL = text(
    """INSERT INTO processed_event
        (consumer, event_id, topic, partition, "offset", processed_at)
    SELECT :consumer, e.event_id, e.topic, e.partition, e.offset, :processed_at
    FROM unnest(
        CAST(:event_ids AS text[]), CAST(:topics AS text[]),
        CAST(:partitions AS integer[]), CAST(:offsets AS bigint[])
    ) AS e(event_id, topic, partition, "offset")
    ON CONFLICT DO NOTHING
    RETURNING event_id"""
)


async def record_new(
    connection: AsyncConnection,
    consumer: str,
    envelopes: Sequence[EventEnvelope],
    *,
    alone: bool = False,
) -> set[str]:
    """Record ``envelopes`` (distinct ids) as applied by ``consumer`` on ``connection``, in its
    transaction; the ids that were not recorded before: the events to apply now. ``alone``
    (nothing else to do for them): on PostgreSQL the statement commits by itself."""
    now = utcnow()
    if connection.dialect.name == "postgresql":
        params = {
            "consumer": consumer,
            "processed_at": now,
            "event_ids": [e.event_id for e in envelopes],
            "topics": [e.topic for e in envelopes],
            "partitions": [e.partition for e in envelopes],
            "offsets": [e.offset for e in envelopes],
        }
        if alone:
            return set((await execute_alone(connection, _RECORD_ON_POSTGRESQL, params)).scalars())
        return set((await connection.execute(_RECORD_ON_POSTGRESQL, params)).scalars())
    rows = [
        {
            "consumer": consumer,
            "event_id": e.event_id,
            "topic": e.topic,
            "partition": e.partition,
            "offset": e.offset,
            "processed_at": now,
        }
        for e in envelopes
    ]
    insert = sqlite.insert(processed_event).values(rows).on_conflict_do_nothing()
    result = await connection.execute(insert.returning(processed_event.c.event_id))
    return set(result.scalars())


def distinct(envelopes: Sequence[EventEnvelope]) -> list[EventEnvelope]:
    """The first envelope of each event id, in order (a batch may hold a resent copy)."""
    first: dict[str, EventEnvelope] = {}
    for envelope in envelopes:
        first.setdefault(envelope.event_id, envelope)
    return list(first.values())
