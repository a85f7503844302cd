"""Kafka clients configured the platform's way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

log = logging.getLogger(__name__)


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
    """Create the topics that do not exist yet; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name=t, num_partitions=partitions, replication_factor=replication)
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


__all__ = ["KafkaError", "ensure_topics", "idempotent_producer", "kafka_reachable"]
