"""A consumer with a ``fetch_wait`` on real Kafka and PostgreSQL: messages that come one by one
are fetched together, and each is still applied once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
from aiokafka import AIOKafkaProducer

from shopmesh.kit.consumer import EventConsumer
from shopmesh.kit.db import Database
from shopmesh.kit.events import EventEnvelope
from tests.kit.sample import MIGRATIONS, NotesUnitOfWork, NoteWritten, record_note
from tests.kit.test_outbox_and_consumer import background, notes_applied
from tests.support import migrated_database, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@pytest.fixture
async def db(postgres_url: str) -> AsyncIterator[Database]:
    async with migrated_database(postgres_url, MIGRATIONS) as database:
        yield database


async def test_a_waiting_consumer_fetches_messages_sent_one_by_one_together(
    db: Database, kafka_bootstrap: str, unique
) -> None:
    tag = unique("wait")
    topic = f"notes-{tag}"  # its own topic: only this test's messages
    batches: list[int] = []

    async def apply_all(uow: NotesUnitOfWork, envelopes: Sequence[EventEnvelope]) -> None:
        batches.append(len(envelopes))
        for envelope in envelopes:
            await record_note(uow, envelope)

    consumer = EventConsumer(
        lambda: NotesUnitOfWork(db),
        service="sample",
        bootstrap=kafka_bootstrap,
        group_id=f"sample-{uuid.uuid4().hex[:8]}",
        handlers={"note.written": record_note},
        batch_handler=apply_all,
        topics=[topic],
        fetch_wait=2.0,
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()

    async def send(body: str) -> None:
        # One key: one partition, so one fetch is one batch.
        value = NoteWritten(body=body, producer="sample").to_bytes()
        await producer.send_and_wait(topic, value=value, key=tag.encode())

    bodies = [f"{tag}-{n}" for n in range(10)]
    try:
        async with background(consumer.run()):
            await send(f"{tag}-first")  # once it is applied, the consumer is in its group
            await wait_for(lambda: notes_applied(db, [f"{tag}-first"]), until=bool, what="first")
            for body in bodies:  # ~0.2 s in all, a message at a time
                await send(body)
                await asyncio.sleep(0.02)
            applied = await wait_for(
                lambda: notes_applied(db, bodies), until=lambda r: len(r) == 10, what="all ten"
            )
    finally:
        await producer.stop()
    assert applied == dict.fromkeys(bodies, 1)
    assert len(batches[1:]) <= 2, batches  # without the wait: about one fetch a message
