"""Kafka clients configured the platform's way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
# Events stay on their topic five days, in segments rolled daily, so none is older than six
# days when Kafka deletes it: a consumer that reads a topic again from its start (say its
# group's offsets expired) meets only events younger than its dedup records (seven days,
# kit.retention), and drops those it applied already.
EVENT_TOPIC_CONFIG = {"retention.ms": str(5 * DAY_MS), "segment.ms": str(DAY_MS)}
# Dead letters wait a month for someone to look at them.
DEAD_LETTER_TOPIC_CONFIG = {"retention.ms": str(30 * DAY_MS)}


# What a namespace may be called: its topics' names start with it (and a dot), and Kafka
# allows letters, digits, ".", "_" and "-" in a topic's 249 characters.
NAMESPACE_PATTERN = r"^[A-Za-z0-9_-]{0,64}$"


@dataclass(frozen=True, slots=True)
class KafkaNamespace:
    """Where one deployment's topics and consumer groups are on a Kafka cluster it may
    share with others (``SHOPMESH_KAFKA_NAMESPACE``).

    The services, what they store (outbox rows, processed events, dead letters' headers) and
    the operations API name topics and groups plainly (``order-events``, ``payments``); only
    the names handed to Kafka go through here. In namespace ``staging`` topic
    ``order-events`` is ``staging.order-events`` on the broker, its dead letters
    ``staging.order-events.dlq`` and group ``payments`` is ``staging.payments``. The empty
    namespace (the default) keeps the plain names.
    """

    name: str = ""

    def topic(self, plain: str) -> str:
        """The broker's name of topic ``plain`` (``<topic>.dlq`` included)."""
        return f"{self.name}.{plain}" if self.name else plain

    def dead_letters(self, plain: str) -> str:
        """The broker's name of the dead-letter topic of topic ``plain``."""
        return self.topic(dead_letter_topic(plain))

    def group(self, plain: str) -> str:
        """The broker's name of consumer group ``plain``."""
        return self.topic(plain)

    def plain(self, topic: str) -> str:
        """The plain name of ``topic`` as read from the broker (its inverse of :meth:`topic`)."""
        return topic.removeprefix(f"{self.name}.") if self.name else topic


def dead_letter_topic(topic: str) -> str:
    """Where a consumer of ``topic`` puts the messages it gives up on."""
    return f"{topic}.dlq"


def topic_config(topic: str) -> dict[str, str]:
    """The configuration a topic of ours is created with (``<topic>.dlq``: dead letters)."""
    return DEAD_LETTER_TOPIC_CONFIG if topic.endswith(".dlq") else EVENT_TOPIC_CONFIG


def idempotent_producer(bootstrap: str, *, client_id: str) -> AIOKafkaProducer:
    """acks=all with idempotence: a retried send is written once per partition.

    No linger: the relay hands a whole batch to the producer before it waits for the
    acks, so the batch goes out in one request anyway; lingering would only delay it.
    """
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        max_batch_size=256 * 1024,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
    )


async def ensure_topics(
    bootstrap: str, topics: Iterable[str], *, partitions: int = 3, replication: int = 1
) -> None:
    """Create the topics that do not exist yet (with :func:`topic_config`); existing ones
    are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name=t,
                num_partitions=partitions,
                replication_factor=replication,
                topic_configs=topic_config(t),
            )
            for t in topics
            if t not in existing
        ]
        if missing:
            # Another process may create one between our list and create: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


async def kafka_reachable(bootstrap: str, timeout: float = 1.0) -> bool:
    """True when a TCP connection to one bootstrap server opens within ``timeout``."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            async with asyncio.timeout(timeout):
                _, writer = await asyncio.open_connection(host or "127.0.0.1", int(port))
        except (OSError, TimeoutError, ValueError):
            continue
        writer.close()
        return True
    return False


# With a fetch wait, the broker answers a fetch once it holds this much or the wait is over:
# in practice the wait decides, and the fetch brings all that came meanwhile.
PATIENT_FETCH_MIN_BYTES = 1024 * 1024


def fetch_options(wait: float) -> dict[str, int]:
    """A consumer's fetch settings: aiokafka's defaults (the broker answers as soon as it has
    a message) when ``wait`` is 0, else the broker gathers messages for ``wait`` seconds.

    For a consumer off every critical path that reads a busy topic for a few of its event
    types: one fetch (a round trip and a wake-up) every ``wait`` instead of one a message;
    its effects come up to ``wait`` later.
    """
    if wait <= 0:
        return {}
    return {"fetch_min_bytes": PATIENT_FETCH_MIN_BYTES, "fetch_max_wait_ms": round(wait * 1000)}


__all__ = [
    "KafkaError",
    "KafkaNamespace",
    "dead_letter_topic",
    "ensure_topics",
    "fetch_options",
    "idempotent_producer",
    "kafka_reachable",
]
