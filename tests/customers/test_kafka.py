"""End to end on real Kafka and PostgreSQL: user.registered on user-events becomes one profile.

The test reads the platform's real ``user-events`` topic, which may hold other
tests' events, under a consumer group of its own; it only looks at its own
(random) user ids.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from shopmesh.customers.main import create_app
from shopmesh.kit.kafka import ensure_topics
from tests.support import serve_in_process, wait_for

from .support import ME, auth, make_settings, new_user_id, registered

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

TOPIC = "user-events"


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    # Created up front, as auth's relay would, so the first send finds it.
    await ensure_topics(kafka_bootstrap, [TOPIC])
    kafka = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await kafka.start()
    yield kafka
    await kafka.stop()


async def send(producer: AIOKafkaProducer, payload: dict[str, Any], *, key: int) -> None:
    await producer.send_and_wait(TOPIC, value=orjson.dumps(payload), key=str(key).encode())


async def wait_for_profile(client: httpx.AsyncClient, user_id: int) -> dict[str, Any]:
    async def probe() -> httpx.Response:
        return await client.get(ME, headers=auth(user_id))

    found = await wait_for(
        probe, until=lambda r: r.status_code == 200, timeout=60, what=f"profile of {user_id}"
    )
    body: dict[str, Any] = found.json()
    return body


async def test_user_registered_creates_one_profile_however_often_it_arrives(
    postgres_url: str,
    kafka_bootstrap: str,
    producer: AIOKafkaProducer,
    unique: Callable[[str], str],
) -> None:
    settings = make_settings(
        postgres_url,
        kafka_enabled=True,
        kafka_bootstrap=kafka_bootstrap,
        group_id=unique("customers-test-"),
    )
    user_id, later_user = new_user_id(), new_user_id()
    username = unique("kafka")
    event = registered(user_id=user_id, username=username)
    app = create_app(settings)
    async with serve_in_process(app) as client:
        await send(producer, event, key=user_id)
        first = await wait_for_profile(client, user_id)

        # The same event again, a replay under a new event id, then another user's event
        # under the same key: one partition, so when it is applied the others were handled.
        await send(producer, event, key=user_id)
        await send(producer, registered(user_id=user_id, username="renamed"), key=user_id)
        await send(producer, registered(user_id=later_user, username=unique("k")), key=user_id)
        await wait_for_profile(client, later_user)

        again = (await client.get(ME, headers=auth(user_id))).json()
        db = app.runtime.db
        async with db.engine.connect() as connection:
            rows = (
                await connection.execute(
                    text("SELECT count(*) FROM customer WHERE user_id = :u"), {"u": user_id}
                )
            ).scalar_one()
            recorded = (
                await connection.execute(
                    text("SELECT count(*) FROM processed_event WHERE event_id = :e"),
                    {"e": event["event_id"]},
                )
            ).scalar_one()

    assert (first["user_id"], first["name"], first["email"]) == (user_id, username, None)
    assert rows == 1
    assert again == first
    assert recorded == 1
