"""The idempotent consumer: an event's effect and its ``event_id`` commit together.

A service builds its consumers with :func:`event_consumer` in ``main.py``,
after the use cases their handlers call; each handler gets the consumer's
unit of work and one event (a batch handler: the batch's new events).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from shopmesh.kit.consumer.applier import BatchHandler, Handler, RecordOnly
from shopmesh.kit.consumer.consumer import COMMIT_INTERVAL, EventConsumer
from shopmesh.kit.settings import ServiceSettings
from shopmesh.kit.uow import UnitOfWork

__all__ = [
    "COMMIT_INTERVAL",
    "BatchHandler",
    "EventConsumer",
    "Handler",
    "RecordOnly",
    "event_consumer",
]

U = TypeVar("U", bound=UnitOfWork)


def event_consumer(
    settings: ServiceSettings,
    units: Callable[[], U],
    *,
    group_id: str,
    topics: Sequence[str],
    handlers: Mapping[str, Handler[U]],
    batch_handler: BatchHandler[U] | None = None,
    fetch_wait: float = 0.0,
    record_only: RecordOnly | None = None,
) -> EventConsumer[U]:
    """A consumer of ``topics`` as ``group_id``, set up from the platform's ``settings``
    (broker and namespace, attempts before the dead-letter topic, retry backoff, topic
    replication); ``fetch_wait`` and ``record_only``: see :class:`EventConsumer`."""
    return EventConsumer(
        units,
        service=settings.service_name,
        bootstrap=settings.kafka_bootstrap,
        group_id=group_id,
        handlers=handlers,
        topics=topics,
        max_attempts=settings.consumer_max_attempts,
        retry_backoff=settings.consumer_retry_backoff,
        replication=settings.kafka_replication,
        batch_handler=batch_handler,
        fetch_wait=fetch_wait,
        namespace=settings.namespace,
        record_only=record_only,
    )
