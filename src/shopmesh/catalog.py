"""The platform's event catalogue: every event a service produces, as one JSON Schema document.

The typed models in each producer's ``domain.py`` are the source of truth;
``shopmesh events`` prints this document and ``docs/events.schema.json`` is
its committed copy (a test keeps the two equal).
"""

from __future__ import annotations

from typing import Any

from shopmesh.auth.domain import PRODUCED_EVENTS as AUTH_EVENTS
from shopmesh.dispatcher.domain import PRODUCED_EVENTS as DISPATCHER_EVENTS
from shopmesh.kit.events import Event
from shopmesh.orders.domain import PRODUCED_EVENTS as ORDERS_EVENTS
from shopmesh.payments.domain import PRODUCED_EVENTS as PAYMENTS_EVENTS

# Who sends what: each producing service and its events.
PRODUCERS: dict[str, tuple[type[Event], ...]] = {
    "auth": AUTH_EVENTS,
    "payments": PAYMENTS_EVENTS,
    "orders": ORDERS_EVENTS,
    "dispatcher": DISPATCHER_EVENTS,
}
PRODUCED: tuple[type[Event], ...] = tuple(e for events in PRODUCERS.values() for e in events)
# What each topic's message key is: a key's events stay in order on one partition.
TOPIC_KEYS: dict[str, str] = {
    "transactions": "the user's id",
    "user-events": "the user's id",
    "order-events": "the order's id",
    "payment-events": "the order's id",
}


def event_type_of(event: type[Event]) -> str:
    return str(event.model_fields["event_type"].default)


def events_document() -> dict[str, Any]:
    """Every produced event's wire schema, keyed by event type."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ShopMesh events",
        "description": "Messages on the platform's Kafka topics: the envelope "
        "(event_id, event_type, occurred_at, producer) plus the event's fields, flat.",
        "events": {event_type_of(e): e.wire_schema() for e in PRODUCED},
    }
