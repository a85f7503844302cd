"""The kit's own tables, present in every service database that produces or consumes events."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    text,
)

from shopmesh.kit.db import IdType, new_metadata

kit_metadata = new_metadata()


outbox_message = Table(
    "outbox_message",
    kit_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("topic", String(200), nullable=False),
    Column("key", String(200), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("traceparent", String(55)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True)),
    Index(
        "ix_outbox_message_unpublished",
        "id",
        postgresql_where=text("published_at IS NULL"),
        sqlite_where=text("published_at IS NULL"),
    ),
    # Retention finds the rows published long enough ago (kit.retention).
    Index(
        "ix_outbox_message_published_at",
        "published_at",
        postgresql_where=text("published_at IS NOT NULL"),
        sqlite_where=text("published_at IS NOT NULL"),
    ),
)


processed_event = Table(
    "processed_event",
    kit_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False),
    Index("ix_processed_event_processed_at", "processed_at"),
)

# The indexes retention needs, added after the tables' first release (see
# kit.migrations.create_retention_indexes).
RETENTION_INDEXES = (
    "ix_outbox_message_published_at",
    "ix_processed_event_processed_at",
)
