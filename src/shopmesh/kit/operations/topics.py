"""Reading a whole topic as it is now, from its first retained message to its end."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

# A reading that has not reached the end by then gives what it has read.
READ_TIMEOUT_MS = 10_000


async def read_topics(bootstrap: str, topics: Iterable[str]) -> list[ConsumerRecord[bytes, bytes]]:
    """Every retained message of ``topics`` (those that exist), read without a consumer
    group (nothing is committed, no group is disturbed), in partition and offset order."""
    partitions = await _partitions(bootstrap, topics)
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id=f"operations-reader-{uuid.uuid4().hex[:8]}",
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        return await _read_until(consumer, ends)
    finally:
        await consumer.stop()


async def _partitions(bootstrap: str, topics: Iterable[str]) -> list[TopicPartition]:
    """The partitions of those of ``topics`` that exist."""
    topics = list(dict.fromkeys(topics))
    if not topics:
        return []
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in topics if t in existing]
        described = await admin.describe_topics(wanted) if wanted else []
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in sorted(topic["partitions"], key=lambda p: p["partition"])
    ]


async def _read_until(
    consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]
) -> list[ConsumerRecord[bytes, bytes]]:
    records: list[ConsumerRecord[bytes, bytes]] = []
    pending = {tp for tp, end in ends.items() if end > 0}
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=READ_TIMEOUT_MS)
        if not batch:
            break  # the broker gave nothing for a long while: answer with what there is
        for tp, messages in batch.items():
            records.extend(m for m in messages if m.offset < ends[tp])
        pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    return sorted(records, key=lambda r: (r.topic, r.partition, r.offset))
