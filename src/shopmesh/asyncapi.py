"""The platform's AsyncAPI 3.0 document: every topic, message and key, from the typed events.

Built from the same models as ``docs/events.schema.json`` (:mod:`shopmesh.catalog`):
one channel per topic (and its ``<topic>.dlq``), one message per event type with its
payload schema (JSON Schema 2020-12, as pydantic writes it), its headers and its Kafka
key, and one ``send`` operation per producing service and topic. ``shopmesh asyncapi``
prints it; ``src/shopmesh/gateway/asyncapi.json`` is its committed copy, which the
gateway serves at ``/api/asyncapi.json`` (a test keeps the two equal).
"""

from __future__ import annotations

from typing import Any

from shopmesh.catalog import PRODUCERS, TOPIC_KEYS, event_type_of
from shopmesh.kit.events import Event
from shopmesh.kit.kafka import dead_letter_topic

SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"
_HEADERS = {
    "type": "object",
    "properties": {
        "event_type": {"type": "string", "description": "The message's event type."},
        "traceparent": {
            "type": "string",
            "description": "W3C trace context of the flow that produced the event.",
        },
    },
    "required": ["event_type"],
}
_DEAD_LETTER_HEADERS = {
    "type": "object",
    "description": "The original message's headers, plus why and where it was set aside. "
    "An operator's replay or discard appends a record with dlq_action, dlq_target, "
    "dlq_actor and dlq_outcome headers.",
    "properties": {
        "dlq_reason": {"type": "string"},
        "dlq_source": {"type": "string", "description": "<topic>/<partition>/<offset>"},
        "dlq_consumer": {"type": "string", "description": "the consumer group"},
        "dlq_attempts": {"type": "string", "description": "attempts made, as a number"},
    },
}


def _message(event: type[Event]) -> dict[str, Any]:
    schema = event.wire_schema()
    schema.pop("x-topic", None)
    return {
        "name": event_type_of(event),
        "title": schema.get("title", event.__name__),
        "summary": (event.__doc__ or "").strip().splitlines()[0] if event.__doc__ else "",
        "contentType": "application/json",
        "headers": _HEADERS,
        "payload": {"schemaFormat": SCHEMA_FORMAT, "schema": schema},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": TOPIC_KEYS[event.topic]},
                "bindingVersion": "0.5.0",
            }
        },
    }


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every event the platform's services send."""
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for producer, events in PRODUCERS.items():
        for event in events:
            name = event_type_of(event)
            messages[name] = _message(event)
            channel = channels.setdefault(
                event.topic,
                {
                    "address": event.topic,
                    "description": f"Key: {TOPIC_KEYS[event.topic]}.",
                    "messages": {},
                },
            )
            channel["messages"][name] = {"$ref": f"#/components/messages/{name}"}
            operation = operations.setdefault(
                f"{producer}-sends-{event.topic}",
                {
                    "action": "send",
                    "summary": f"{producer} publishes through its transactional outbox.",
                    "channel": {"$ref": f"#/channels/{event.topic}"},
                    "messages": [],
                },
            )
            operation["messages"].append({"$ref": f"#/channels/{event.topic}/messages/{name}"})
    for topic in sorted(channels):
        channels[dead_letter_topic(topic)] = {
            "address": dead_letter_topic(topic),
            "description": f"Messages of {topic} a consumer gave up on (kept 30 days).",
            "messages": {"deadLetter": {"$ref": "#/components/messages/deadLetter"}},
        }
    messages["deadLetter"] = {
        "name": "deadLetter",
        "summary": "A message set aside, as it was, with the reason in its headers.",
        "headers": _DEAD_LETTER_HEADERS,
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "ShopMesh events",
            "version": "1.0.0",
            "description": "Messages on the platform's Kafka topics: the envelope (event_id, "
            "event_type, occurred_at, producer) plus the event's fields, flat. Consumers "
            "apply each event_id once.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The broker `make up` starts (SHOPMESH_KAFKA_BOOTSTRAP).",
            }
        },
        "channels": dict(sorted(channels.items())),
        "operations": dict(sorted(operations.items())),
        "components": {"messages": dict(sorted(messages.items()))},
    }
