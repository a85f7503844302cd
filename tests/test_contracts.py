"""Event contracts: what producers send is what consumers read, and the published document is true.

Services never import each other, so each consumer reads events with a model
of its own; these tests (which may import both sides) keep the two honest.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson

from shopmesh.analytics import domain as analytics
from shopmesh.catalog import PRODUCED, event_type_of, events_document
from shopmesh.payments.domain import TransactionCreated, TransactionsPaid

DOCUMENT = Path(__file__).parents[1] / "docs" / "events.schema.json"
ENVELOPE = {"event_id", "event_type", "occurred_at", "producer"}


def wire(event: object) -> dict[str, object]:
    return orjson.loads(event.to_bytes())  # type: ignore[attr-defined]


def test_the_committed_event_document_matches_the_code() -> None:
    committed = json.loads(DOCUMENT.read_text())
    assert committed == json.loads(json.dumps(events_document())), (
        "docs/events.schema.json is stale: run `uv run shopmesh events > docs/events.schema.json`"
    )


def test_every_event_declares_the_envelope_and_its_topic() -> None:
    for event in PRODUCED:
        schema = event.wire_schema()
        assert set(schema["required"]) >= ENVELOPE, event_type_of(event)
        assert schema["x-topic"] in {"transactions", "user-events", "order-events"}


def test_analytics_reads_transaction_created_as_payments_sends_it() -> None:
    sent = TransactionCreated(
        producer="payments",
        transaction_id=7,
        user_id=3,
        amount=Decimal("0.10"),
        description="tea",
        timestamp=datetime.now(UTC),
    )
    read = analytics.TransactionCreated.model_validate(wire(sent))
    assert (read.transaction_id, read.user_id, read.amount) == (7, 3, Decimal("0.10"))


def test_analytics_reads_transaction_paid_as_payments_sends_it() -> None:
    sent = TransactionsPaid(
        producer="payments", user_id=3, transactions_paid=4, timestamp=datetime.now(UTC)
    )
    read = analytics.TransactionPaid.model_validate(wire(sent))
    assert (read.user_id, read.transactions_paid) == (3, 4)
