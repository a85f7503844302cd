"""The dead letters of a service's consumers, and an operator's replay or discard of them.

A dead letter's id is where it sits: ``<topic>.dlq:<partition>:<offset>``. Its state
comes from the action records appended after it (see
:mod:`shopmesh.kit.consumer.deadletters`): *pending* until it is replayed (applied, or
found applied already) or discarded. Replay hands the message to the consumer that gave
up on it, through the same idempotent path as live consumption (its ``event_id`` is
recorded with its effect in one transaction), so replaying again, at the same time or
after a crash between the effect and its action record, applies nothing twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import ConsumerRecord

from shopmesh.kit.clock import utcnow
from shopmesh.kit.consumer import EventConsumer
from shopmesh.kit.consumer import deadletters as wire
from shopmesh.kit.db import is_transient_db_error
from shopmesh.kit.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from shopmesh.kit.events import EventEnvelope, MalformedEvent
from shopmesh.kit.kafka import KafkaNamespace, dead_letter_topic, idempotent_producer
from shopmesh.kit.operations.topics import read_topics

_ID = re.compile(
    r"^(?P<topic>[A-Za-z0-9._-]{1,240}\.dlq):(?P<partition>\d{1,6}):(?P<offset>\d{1,19})$"
)
APPLIED, ALREADY_APPLIED, FAILED, DISCARDED = "applied", "already_applied", "failed", "discarded"


@dataclass(frozen=True, slots=True)
class Action:
    """One replay (outcome applied, already_applied or failed) or discard, by ``actor``."""

    action: str
    outcome: str
    actor: str
    at: datetime
    reason: str | None = None


@dataclass(slots=True)
class DeadLetter:
    """A message a consumer group gave up on, where it came from, and what was done since."""

    id: str
    consumer: str
    topic: str
    partition: int | None
    offset: int | None
    key: str | None
    reason: str
    attempts: int
    dead_lettered_at: datetime
    headers: dict[str, str]
    value: bytes | None
    envelope: EventEnvelope | None  # None: the message is not a ShopMesh event
    actions: list[Action] = field(default_factory=list)

    @property
    def status(self) -> str:
        outcomes = {a.outcome for a in self.actions}
        if DISCARDED in outcomes:
            return "discarded"
        return "replayed" if outcomes & {APPLIED, ALREADY_APPLIED} else "pending"

    @property
    def event_type(self) -> str | None:
        return None if self.envelope is None else self.envelope.event_type


class DeadLetterOffice:
    """The dead letters of ``consumers`` (their groups' entries in ``<topic>.dlq``), read
    from and recorded to the broker in ``namespace``; ids and topics keep their plain names."""

    def __init__(
        self,
        consumers: Sequence[EventConsumer[Any]],
        *,
        bootstrap: str,
        namespace: KafkaNamespace = KafkaNamespace(),
    ) -> None:
        self._consumers = {c.group_id: c for c in consumers}
        self._bootstrap = bootstrap
        self._namespace = namespace

    @property
    def topics(self) -> list[str]:
        """The dead-letter topics of this service's consumers (plain names)."""
        return sorted({dead_letter_topic(t) for c in self._consumers.values() for t in c.topics})

    async def letters(
        self, *, topic: str | None = None, event_type: str | None = None, status: str | None = None
    ) -> list[DeadLetter]:
        """The dead letters, newest first, of one original ``topic``, ``event_type`` or
        ``status`` when given."""
        letters = await self._read()
        return [
            letter
            for letter in reversed(letters)
            if (topic is None or letter.topic == topic)
            and (event_type is None or letter.event_type == event_type)
            and (status is None or letter.status == status)
        ]

    async def get(self, letter_id: str) -> DeadLetter:
        """One dead letter by id (400 for an id of the wrong shape, 404 when not ours)."""
        if not _ID.match(letter_id):
            raise BadRequest(
                "a dead letter id looks like <topic>.dlq:<partition>:<offset>",
                code="invalid_dead_letter_id",
            )
        found = [letter for letter in await self._read() if letter.id == letter_id]
        if not found:
            raise NotFound(
                f"no dead letter {letter_id} of this service", code="dead_letter_not_found"
            )
        return found[0]

    async def replay(self, letter_id: str, *, actor: str) -> DeadLetter:
        """Apply the dead letter through its consumer; 409 when discarded, not an event, or
        still failing (the attempt is recorded)."""
        letter = await self.get(letter_id)
        if letter.status == "discarded":
            raise Conflict("this dead letter was discarded", code="dead_letter_discarded")
        action = await self._apply(letter, actor)
        await self._record(letter, action)
        if action.outcome == FAILED:
            raise Conflict(f"replay failed: {action.reason}", code="replay_failed")
        return letter

    async def replay_all(
        self, *, actor: str, topic: str | None = None, event_type: str | None = None
    ) -> list[tuple[DeadLetter, Action]]:
        """Replay every pending dead letter (of ``topic`` / ``event_type``), oldest first;
        each one's outcome (one that fails stays pending)."""
        pending = await self.letters(topic=topic, event_type=event_type, status="pending")
        results = []
        for letter in reversed(pending):
            if not self._replayable(letter):
                continue  # only a discard removes it
            action = await self._apply(letter, actor)
            await self._record(letter, action)
            results.append((letter, action))
        return results

    async def discard(self, letter_id: str, *, actor: str) -> DeadLetter:
        """Mark the dead letter as dealt with, never to be replayed (again: no change)."""
        letter = await self.get(letter_id)
        if letter.status != "discarded":
            await self._record(letter, Action("discard", DISCARDED, actor, utcnow()))
        return letter

    def _replayable(self, letter: DeadLetter) -> bool:
        """An event its consumer has a handler for (else only a discard deals with it)."""
        return letter.event_type in self._consumers[letter.consumer].event_types

    async def _apply(self, letter: DeadLetter, actor: str) -> Action:
        consumer, envelope = self._consumers[letter.consumer], letter.envelope
        if envelope is None or not self._replayable(letter):
            raise Conflict(
                "this message is not an event its consumer applies: discard it",
                code="not_replayable",
            )
        try:
            fresh = await consumer.apply_batch([envelope])
        except Exception as exc:
            if is_transient_db_error(exc):
                raise ServiceUnavailable("the database is unavailable, try again") from None
            return Action("replay", FAILED, actor, utcnow(), wire.failure_reason(exc))
        return Action("replay", APPLIED if fresh else ALREADY_APPLIED, actor, utcnow())

    async def _record(self, letter: DeadLetter, action: Action) -> None:
        """Append ``action`` to the dead letter's topic (and to ``letter``, as answered)."""
        headers = [
            (wire.ACTION, action.action.encode()),
            (wire.TARGET, letter.id.encode()),
            (wire.ACTOR, action.actor.encode()),
            (wire.OUTCOME, action.outcome.encode()),
            (wire.CONSUMER, letter.consumer.encode()),
        ]
        if action.reason:
            headers.append((wire.REASON, action.reason.encode()))
        producer = idempotent_producer(self._bootstrap, client_id="operations-dead-letters")
        try:
            await producer.start()
            await producer.send_and_wait(
                self._namespace.topic(letter.id.split(":", 1)[0]),
                value=_describe(letter, action),
                key=letter.id.encode(),
                headers=headers,
            )
        finally:
            await producer.stop()
        letter.actions.append(action)

    async def _read(self) -> list[DeadLetter]:
        """This service's dead letters with their actions, oldest first."""
        records = await read_topics(self._bootstrap, map(self._namespace.topic, self.topics))
        letters: dict[str, DeadLetter] = {}
        actions = []  # a letter's actions share its key, so one partition: in order
        for record in records:
            headers = wire.text_headers(record)
            if headers.get(wire.CONSUMER) not in self._consumers:
                continue
            if wire.ACTION in headers:
                actions.append((headers.get(wire.TARGET, ""), _action_of(record, headers)))
            else:
                letter = _letter_of(record, self._namespace.plain(record.topic), headers)
                letters[letter.id] = letter
        for target, action in actions:
            if target in letters:
                letters[target].actions.append(action)
        return sorted(letters.values(), key=lambda letter: letter.dead_lettered_at)


def _letter_of(
    record: ConsumerRecord[bytes, bytes], dead_letters: str, headers: dict[str, str]
) -> DeadLetter:
    """The dead letter in ``record``, read from topic ``dead_letters`` (its plain name)."""
    source = headers.get(wire.SOURCE, "").rsplit("/", 2)
    known = len(source) == 3 and source[1].isdigit() and source[2].isdigit()
    topic = source[0] if known else dead_letters.removesuffix(".dlq")
    partition, offset = (int(source[1]), int(source[2])) if known else (None, None)
    attempts = headers.get(wire.ATTEMPTS, "")
    try:  # the event as first published: its processed-event record says so
        envelope = wire.envelope_of(record, topic=topic, partition=partition, offset=offset)
    except MalformedEvent:
        envelope = None
    return DeadLetter(
        id=f"{dead_letters}:{record.partition}:{record.offset}",
        consumer=headers[wire.CONSUMER],
        topic=topic,
        partition=partition,
        offset=offset,
        key=record.key.decode("utf-8", "replace") if record.key is not None else None,
        reason=headers.get(wire.REASON, ""),
        attempts=int(attempts) if attempts.isdigit() else 0,
        dead_lettered_at=_timestamp(record),
        headers={k: v for k, v in headers.items() if k not in wire.DLQ_HEADERS},
        value=record.value,
        envelope=envelope,
    )


def _action_of(record: ConsumerRecord[bytes, bytes], headers: dict[str, str]) -> Action:
    return Action(
        action=headers[wire.ACTION],
        outcome=headers.get(wire.OUTCOME, ""),
        actor=headers.get(wire.ACTOR, ""),
        at=_timestamp(record),
        reason=headers.get(wire.REASON),
    )


def _describe(letter: DeadLetter, action: Action) -> bytes:
    """An action record's value: the action in words, for whoever reads the topic raw."""
    return orjson.dumps(
        {
            "dead_letter": letter.id,
            "action": action.action,
            "outcome": action.outcome,
            "actor": action.actor,
        }
    )


def _timestamp(record: ConsumerRecord[bytes, bytes]) -> datetime:
    return datetime.fromtimestamp(record.timestamp / 1000, tz=UTC)
