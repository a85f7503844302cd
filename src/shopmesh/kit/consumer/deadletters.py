"""Dead letters on the wire: the headers a consumer puts on a message it gives up on, and
the records an operator's actions on it leave in the same ``<topic>.dlq`` topic.

A dead letter is the original message (value, key, headers) plus ``dlq_reason``,
``dlq_source`` (``topic/partition/offset``), ``dlq_consumer`` (the group) and
``dlq_attempts``. Replaying or discarding one appends an *action record* (the action as
JSON, keyed by the dead letter's id, so all actions on one dead letter stay in order) with
``dlq_action``, ``dlq_target``, ``dlq_actor`` and ``dlq_outcome``: the topic is its own
audit log, kept as long as the dead letters themselves.
"""

from __future__ import annotations

from aiokafka import ConsumerRecord
from sqlalchemy.exc import StatementError

from shopmesh.kit.events import EventEnvelope

REASON, SOURCE, CONSUMER, ATTEMPTS = "dlq_reason", "dlq_source", "dlq_consumer", "dlq_attempts"
ACTION, TARGET, ACTOR, OUTCOME = "dlq_action", "dlq_target", "dlq_actor", "dlq_outcome"
DLQ_HEADERS = frozenset({REASON, SOURCE, CONSUMER, ATTEMPTS, ACTION, TARGET, ACTOR, OUTCOME})


def failure_reason(exc: BaseException) -> str:
    """Why an event could not be applied, short and fit for an operator's screen: a failed
    statement says its error, never its SQL or parameters."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        first_line = (str(exc.orig).strip().splitlines() or [""])[0]
        return f"{type(exc.orig).__name__}: {first_line[:300]}"
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def dead_letter_headers(
    record: ConsumerRecord[bytes, bytes], *, topic: str, reason: str, consumer: str, attempts: int
) -> list[tuple[str, bytes]]:
    """The headers of ``record``'s dead letter: its own, plus why, where from (``topic``:
    its plain name), whose."""
    return [
        *((k, v) for k, v in (record.headers or ()) if k not in DLQ_HEADERS),
        (REASON, reason.encode()),
        (SOURCE, f"{topic}/{record.partition}/{record.offset}".encode()),
        (CONSUMER, consumer.encode()),
        (ATTEMPTS, str(attempts).encode()),
    ]


def text_headers(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    """``record``'s headers as text (Kafka allows null values: those are left out)."""
    return {k: v.decode("utf-8", "replace") for k, v in (record.headers or ()) if v is not None}


def envelope_of(
    record: ConsumerRecord[bytes, bytes],
    *,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
) -> EventEnvelope:
    """The event in ``record`` (or raise ``MalformedEvent``); ``topic``, ``partition`` and
    ``offset`` say where it was first published when that is not where it was read."""
    headers = {k: v for k, v in text_headers(record).items() if k not in DLQ_HEADERS}
    return EventEnvelope.parse(
        record.value,
        topic=record.topic if topic is None else topic,
        partition=record.partition if partition is None else partition,
        offset=record.offset if offset is None else offset,
        headers=headers,
    )
