"""End to end on real Kafka and PostgreSQL: events on the topic become totals, exactly once.

Each test has its own topic, consumer group and database, so tests never see
each other's messages. Events of one user share a key, hence a partition, so
they are applied in the order produced: the last one's effect proves the
earlier ones were handled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from shopmesh.analytics.main import create_app
from shopmesh.analytics.settings import Settings
from shopmesh.kit.kafka import ensure_topics
from tests.analytics.factories import created, encode, new_user_id, paid, settings, token
from tests.support import serve_in_process, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

Stats = dict[str, Any]


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    kafka = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await kafka.start()
    yield kafka
    await kafka.stop()


@pytest.fixture
async def kafka_settings(
    postgres_url: str, kafka_bootstrap: str, unique: Callable[[str], str]
) -> Settings:
    topic = unique("analytics-transactions-")
    # Created up front, as payments' relay would, so the first send finds it.
    await ensure_topics(kafka_bootstrap, [topic])
    return settings(
        postgres_url,
        kafka_enabled=True,
        kafka_bootstrap=kafka_bootstrap,
        topic=topic,
        group_id=unique("analytics-"),
    )


async def send(
    producer: AIOKafkaProducer, topic: str, *payloads: dict[str, Any] | bytes, key: int
) -> None:
    """Produce payloads (dicts as JSON, bytes as they are) under one user's key."""
    for payload in payloads:
        value = payload if isinstance(payload, bytes) else encode(payload)
        await producer.send_and_wait(topic, value=value, key=str(key).encode())


async def stats_of(client: httpx.AsyncClient) -> Stats:
    response = await client.get("/stats")
    assert response.status_code == 200
    body: Stats = response.json()
    return body


async def wait_for_stats(
    client: httpx.AsyncClient, until: Callable[[Stats], bool], what: str
) -> Stats:
    async def probe() -> Stats:
        return await stats_of(client)

    return await wait_for(probe, until=until, timeout=60, what=what)


async def consumed(client: httpx.AsyncClient, topic: str, outcome: str) -> int:
    """The consumer's count of ``topic``'s events with ``outcome``, from ``/metrics``."""
    response = await client.get("/metrics")
    labels = (f'outcome="{outcome}"', f'topic="{topic}"')
    for line in response.text.splitlines():
        if line.startswith("shopmesh_events_consumed_total{") and all(x in line for x in labels):
            return int(float(line.rsplit(" ", 1)[1]))
    return 0


async def dead_letters(bootstrap: str, topic: str, count: int) -> list[ConsumerRecord[Any, Any]]:
    """Read ``count`` messages from ``<topic>.dlq`` from its beginning."""
    consumer = AIOKafkaConsumer(
        f"{topic}.dlq", bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[ConsumerRecord[Any, Any]] = []
    try:

        async def probe() -> int:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
            return len(records)

        await wait_for(probe, until=lambda n: n >= count, timeout=60, what="dead letters")
    finally:
        await consumer.stop()
    return records


async def test_produced_events_show_in_stats(
    kafka_settings: Settings, producer: AIOKafkaProducer
) -> None:
    topic, alice, bob = kafka_settings.topic, new_user_id(), new_user_id()
    async with serve_in_process(create_app(kafka_settings)) as client:
        await send(producer, topic, created(user_id=alice, amount=0.1), key=alice)
        await send(
            producer,
            topic,
            created(user_id=bob, amount=0.2),
            created(user_id=bob, amount=19.99),
            # Not analytics' business: skipped without counting.
            {**created(user_id=bob), "event_type": "transaction.refunded"},
            paid(user_id=bob, transactions_paid=2),
            key=bob,
        )

        body = await wait_for_stats(
            client, lambda s: s["events_processed"] >= 4, "four events applied"
        )
        users = await client.get(
            "/api/analytics/users", headers={"Authorization": f"Bearer {token(role='admin')}"}
        )

    assert body["total_transactions"] == 3
    assert Decimal(str(body["total_amount"])) == Decimal("20.29")
    assert body["total_paid_transactions"] == 2
    assert body["events_processed"] == 4
    assert body["unique_users"] == 2
    assert body["last_event_time"] is not None
    assert [(u["user_id"], u["amount"]) for u in users.json()] == [(bob, 20.19), (alice, 0.1)]


async def test_the_same_event_delivered_twice_is_counted_once(
    kafka_settings: Settings, producer: AIOKafkaProducer
) -> None:
    topic, user = kafka_settings.topic, new_user_id()
    twice = created(user_id=user, amount=10)
    async with serve_in_process(create_app(kafka_settings)) as client:
        # Once within one batch...
        await send(producer, topic, twice, twice, key=user)
        await wait_for_stats(client, lambda s: s["events_processed"] >= 1, "first event")
        # ...and again after it was committed, followed by a last event to wait for.
        await send(producer, topic, twice, created(user_id=user, amount=1), key=user)
        body = await wait_for_stats(
            client, lambda s: s["total_amount"] >= 11, "the event after the duplicate"
        )

    assert body["events_processed"] == 2
    assert body["total_transactions"] == 2
    assert body["total_amount"] == 11


async def test_poison_messages_go_to_the_dead_letter_topic_and_the_consumer_goes_on(
    kafka_settings: Settings, producer: AIOKafkaProducer, kafka_bootstrap: str
) -> None:
    topic, user = kafka_settings.topic, new_user_id()
    not_json = b"this is not JSON {"
    bad_amount = encode(created(user_id=user, amount="abc"))
    async with serve_in_process(create_app(kafka_settings)) as client:
        await send(
            producer, topic, not_json, bad_amount, created(user_id=user, amount=2.5), key=user
        )
        body = await wait_for_stats(
            client, lambda s: s["events_processed"] >= 1, "the valid event after the poison"
        )
        records = await dead_letters(kafka_bootstrap, topic, 2)

    assert body["events_processed"] == 1
    assert body["total_amount"] == 2.5
    reasons = {r.value: dict(r.headers)["dlq_reason"].decode() for r in records}
    assert set(reasons) == {not_json, bad_amount}
    assert "not JSON" in reasons[not_json]
    assert "ValidationError" in reasons[bad_amount]
    assert "amount" in reasons[bad_amount]
    assert all(r.key == str(user).encode() for r in records)


async def test_a_header_without_value_does_not_stop_the_partition(
    kafka_settings: Settings, producer: AIOKafkaProducer
) -> None:
    topic, user = kafka_settings.topic, new_user_id()
    async with serve_in_process(create_app(kafka_settings)) as client:
        # Kafka allows a header whose value is null; other producers than ours send them.
        await producer.send_and_wait(
            topic,
            value=encode(created(user_id=user, amount=1)),
            key=str(user).encode(),
            headers=[("x-null", None)],
        )
        await send(producer, topic, created(user_id=user, amount=2), key=user)
        body = await wait_for_stats(
            client, lambda s: s["events_processed"] >= 2, "both events applied"
        )

    assert (body["total_transactions"], body["total_amount"]) == (2, 3)


async def test_a_restart_loses_nothing_and_counts_nothing_twice(
    kafka_settings: Settings, producer: AIOKafkaProducer
) -> None:
    topic, user = kafka_settings.topic, new_user_id()
    first = [created(user_id=user, amount=amount) for amount in (0.1, 0.2, 99.99)]
    async with serve_in_process(create_app(kafka_settings)) as client:
        await send(producer, topic, *first, key=user)
        await wait_for_stats(client, lambda s: s["events_processed"] >= 3, "first events")

    # As if the stopped instance had crashed before committing its offsets: the next one
    # reads everything again. Then more events arrive, one a replay of an applied event.
    await rewind_group(kafka_settings, producer)
    later_events = [created(user_id=user, amount=5.01), created(user_id=user, amount=4.70)]
    await send(producer, topic, *later_events, first[0], key=user)
    await send(producer, topic, paid(user_id=user, transactions_paid=5), key=user)

    async with serve_in_process(create_app(kafka_settings)) as client:
        body = await wait_for_stats(
            client, lambda s: s["total_paid_transactions"] >= 5, "the events after the restart"
        )
        duplicates = await consumed(client, topic, "duplicate")

    # The three rewound events and the replay were read again, and skipped.
    assert duplicates == 4
    assert body["events_processed"] == 6
    assert body["total_transactions"] == 5
    assert Decimal(str(body["total_amount"])) == Decimal("110.00")
    assert body["total_paid_transactions"] == 5
    assert body["unique_users"] == 1


async def rewind_group(settings: Settings, producer: AIOKafkaProducer) -> None:
    """Set the (idle) group's committed offsets back to the start of every partition."""
    topic = settings.topic
    partitions = [TopicPartition(topic, p) for p in await producer.partitions_for(topic)]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.group_id,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.commit({tp: 0 for tp in partitions})
        assert [await consumer.committed(tp) for tp in partitions] == [0] * len(partitions)
    finally:
        await consumer.stop()
