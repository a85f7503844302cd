"""The event envelope every Kafka message carries, and its parsing on the consumer side.

Concrete events (``TransactionCreated``...) belong to the service that
produces them; a consumer reads the fields it needs from the envelope's
payload with a model of its own, so services never import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

import orjson
from pydantic import BaseModel, ConfigDict, Field

from shopmesh.kit.clock import utcnow


class Event(BaseModel):
    """Base of produced events: the envelope fields plus the payload fields, flat.

    Subclasses set ``topic`` and ``event_type`` and implement :meth:`key`.
    """

    # Envelope fields have defaults but are always sent: published schemas say so.
    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    topic: ClassVar[str]
    event_type: str
    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: datetime = Field(default_factory=utcnow)
    producer: str = ""

    def key(self) -> str:
        """The partition key (user id, order id...): events of one key stay in order."""
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def wire_schema(cls) -> dict[str, Any]:
        """The JSON Schema of the message as it is sent, with its topic."""
        schema = cls.model_json_schema(mode="serialization")
        schema["x-topic"] = cls.topic
        return schema


class MalformedEvent(ValueError):
    """A message that is not a ShopMesh event; it goes to the dead-letter topic."""


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    """A consumed message: the envelope's fields, the whole payload and where it came from."""

    event_id: str
    event_type: str
    payload: dict[str, Any]
    topic: str = ""
    partition: int = 0
    offset: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(
        cls,
        value: bytes | None,
        *,
        topic: str = "",
        partition: int = 0,
        offset: int = 0,
        headers: dict[str, str] | None = None,
    ) -> EventEnvelope:
        """Parse a Kafka value or raise :class:`MalformedEvent`."""
        if not value:
            raise MalformedEvent("empty message")
        try:
            payload = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise MalformedEvent(f"not JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise MalformedEvent("not a JSON object")
        event_id, event_type = payload.get("event_id"), payload.get("event_type")
        if not isinstance(event_type, str) or not event_type:
            raise MalformedEvent("missing event_type")
        try:
            event_id = str(UUID(str(event_id)))
        except ValueError:
            raise MalformedEvent("missing or invalid event_id") from None
        return cls(
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            topic=topic,
            partition=partition,
            offset=offset,
            headers=headers or {},
        )
