"""What the operations API answers: dead letters, a service's state, its part of a story."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, Field

from shopmesh.kit.operations.deadletters import Action, DeadLetter


class ActionPublic(BaseModel):
    action: str = Field(description="replay or discard")
    outcome: str = Field(description="applied, already_applied, failed or discarded")
    actor: str = Field(description="the administrator who acted")
    at: datetime
    reason: str | None = None

    @classmethod
    def of(cls, action: Action) -> ActionPublic:
        return cls(
            action=action.action,
            outcome=action.outcome,
            actor=action.actor,
            at=action.at,
            reason=action.reason,
        )


class DeadLetterPublic(BaseModel):
    id: str = Field(description="<topic>.dlq:<partition>:<offset>")
    service: str
    consumer: str = Field(description="the consumer group that gave up on the message")
    topic: str = Field(description="the topic the message was first published to")
    partition: int | None
    offset: int | None
    key: str | None
    event_type: str | None
    event_id: str | None
    reason: str
    attempts: int
    dead_lettered_at: datetime
    status: str = Field(description="pending, replayed or discarded")
    actions: list[ActionPublic]

    @classmethod
    def of(cls, letter: DeadLetter, service: str) -> DeadLetterPublic:
        return cls(
            id=letter.id,
            service=service,
            consumer=letter.consumer,
            topic=letter.topic,
            partition=letter.partition,
            offset=letter.offset,
            key=letter.key,
            event_type=letter.event_type,
            event_id=None if letter.envelope is None else letter.envelope.event_id,
            reason=letter.reason,
            attempts=letter.attempts,
            dead_lettered_at=letter.dead_lettered_at,
            status=letter.status,
            actions=[ActionPublic.of(a) for a in letter.actions],
        )


class DeadLetterDetail(DeadLetterPublic):
    headers: dict[str, str]
    payload: dict[str, Any] | None = Field(description="the event; null when not one")
    raw: str | None = Field(description="the message as text when it is not an event")

    @classmethod
    def full(cls, letter: DeadLetter, service: str) -> DeadLetterDetail:
        envelope = letter.envelope
        raw = None
        if envelope is None:
            raw = (letter.value or b"").decode("utf-8", "replace")[:10_000]
        return cls(
            **DeadLetterPublic.of(letter, service).model_dump(),
            headers=letter.headers,
            payload=None if envelope is None else orjson.loads(orjson.dumps(envelope.payload)),
            raw=raw,
        )


class ReplayFilter(BaseModel):
    """Which pending dead letters to replay (all of them when both are absent)."""

    topic: str | None = Field(default=None, max_length=240)
    event_type: str | None = Field(default=None, max_length=100)


class ReplayResult(BaseModel):
    id: str
    outcome: str
    reason: str | None = None


class ReplayReport(BaseModel):
    applied: int
    already_applied: int
    failed: int
    results: list[ReplayResult]


class PartitionLag(BaseModel):
    topic: str
    partition: int
    lag: int


class ConsumerState(BaseModel):
    group: str
    topics: list[str]
    event_types: list[str]
    lag: list[PartitionLag] = Field(description="per partition, at the last offset commit")


class OutboxState(BaseModel):
    backlog: int
    oldest_unsent_at: datetime | None
    oldest_unsent_age_seconds: float | None


class ServiceState(BaseModel):
    service: str
    ready: bool
    checks: dict[str, bool]
    outbox: OutboxState | None
    consumers: list[ConsumerState]
    dead_letters_pending: int | None = Field(
        description="pending dead letters of this service's consumers; null: Kafka unreadable"
    )
    instances: int | None = Field(description="instances in the registry; null: no registry")


class ProducedPublic(BaseModel):
    event_id: str
    event_type: str
    topic: str
    key: str
    producer: str
    occurred_at: datetime
    published_at: datetime | None
    trace_id: str | None


class AppliedPublic(BaseModel):
    event_id: str
    consumer: str
    service: str
    applied_at: datetime
