"""Dead letters recovered, on real PostgreSQL and Kafka: a poison message lands in the
dead-letter topic with its reason, is listed and shown by the operations API, and once its
handler is fixed, replay applies it exactly once; a second replay changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from shopmesh.kit.app import create_service_app
from shopmesh.kit.consumer import EventConsumer
from shopmesh.kit.events import EventEnvelope
from shopmesh.kit.runtime import ServiceRuntime
from shopmesh.kit.settings import ServiceSettings
from tests.kit.sample import MIGRATIONS, SECRET, NotesUnitOfWork, NoteWritten
from tests.support import ISSUER, serve_in_process, token_for, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@dataclass
class Seam:
    """The test's hand on the handler: while ``broken``, notes of ``poison`` fail."""

    poison: str
    broken: bool = True


@dataclass
class Sample:
    client: httpx.AsyncClient
    runtime: ServiceRuntime
    group: str
    topic: str

    async def notes(self, body: str) -> int:
        async with self.runtime.db.connection() as connection:
            query = text("SELECT count(*) FROM note WHERE body = :b")
            return int((await connection.execute(query, {"b": body})).scalar_one())

    async def write(self, body: str) -> None:
        """A note event on the test's own topic, sent as any Kafka client would."""
        producer = AIOKafkaProducer(bootstrap_servers=self.runtime.settings.kafka_bootstrap)
        await producer.start()
        try:
            event = NoteWritten(body=body, producer="sample")
            await producer.send_and_wait(self.topic, event.to_bytes(), key=body.encode())
        finally:
            await producer.stop()


ADMIN = {"Authorization": f"Bearer {token_for(1, role='admin', secret=SECRET)}"}


@pytest.fixture
async def sample(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[tuple[Sample, Seam]]:
    seam = Seam(poison=f"poison-{uuid.uuid4().hex[:8]}")

    async def record(uow: NotesUnitOfWork, envelope: EventEnvelope) -> None:
        body = str(envelope.payload["body"])
        if seam.broken and body == seam.poison:
            raise ValueError("the shelf for this note is missing")
        await uow.notes.add(envelope.event_id, body)

    settings = ServiceSettings(
        service_name="sample",
        database_url=postgres_url,
        jwt_secret=SECRET,
        jwt_issuer=ISSUER,
        kafka_bootstrap=kafka_bootstrap,
        outbox_poll_interval=0.05,
        consumer_retry_backoff=0.01,
    )
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS)
    group, topic = f"sample-{uuid.uuid4().hex[:8]}", f"notes-{uuid.uuid4().hex[:8]}"
    consumer = EventConsumer(
        runtime.units(NotesUnitOfWork),
        service="sample",
        bootstrap=kafka_bootstrap,
        group_id=group,
        handlers={"note.written": record},
        topics=[topic],
        max_attempts=2,
        retry_backoff=0.01,
    )
    app = create_service_app(runtime, title="sample", routers=[], consumers=[consumer])
    async with serve_in_process(app) as client:
        yield Sample(client, runtime, group, topic), seam


async def dead_letters(sample: Sample, **query: str) -> list[dict]:
    response = await sample.client.get("/api/ops/dead-letters", params=query, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_poison_message_is_replayed_exactly_once_after_its_handler_is_fixed(
    sample: tuple[Sample, Seam],
) -> None:
    app, seam = sample
    await app.write(seam.poison)

    [letter] = await wait_for(
        lambda: dead_letters(app, status="pending"),
        until=bool,
        what="the poison note dead-lettered",
    )
    assert letter["consumer"] == app.group
    assert letter["topic"] == app.topic
    assert letter["event_type"] == "note.written"
    assert letter["reason"] == "ValueError: the shelf for this note is missing"
    assert letter["attempts"] == 2
    assert letter["status"] == "pending"
    shown = await app.client.get(f"/api/ops/dead-letters/{letter['id']}", headers=ADMIN)
    assert shown.json()["payload"]["body"] == seam.poison
    assert await app.notes(seam.poison) == 0

    # Still broken: the replay is refused, recorded, and the letter stays pending.
    refused = await app.client.post(f"/api/ops/dead-letters/{letter['id']}/replay", headers=ADMIN)
    assert refused.status_code == 409
    assert refused.json()["code"] == "replay_failed"
    assert "shelf" in refused.json()["error"]

    seam.broken = False
    first = await app.client.post(f"/api/ops/dead-letters/{letter['id']}/replay", headers=ADMIN)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "replayed"
    assert first.json()["actions"][-1] | {"at": None} == {
        "action": "replay",
        "outcome": "applied",
        "actor": "admin1",
        "at": None,
        "reason": None,
    }
    assert await app.notes(seam.poison) == 1

    second = await app.client.post(f"/api/ops/dead-letters/{letter['id']}/replay", headers=ADMIN)
    assert second.status_code == 200
    assert second.json()["actions"][-1]["outcome"] == "already_applied"
    assert await app.notes(seam.poison) == 1

    # The history is read back from the topic: who did what, in order.
    [listed] = await dead_letters(app)
    assert [(a["outcome"], a["actor"]) for a in listed["actions"]] == [
        ("failed", "admin1"),
        ("applied", "admin1"),
        ("already_applied", "admin1"),
    ]
    assert await dead_letters(app, status="pending") == []


async def test_replay_all_and_discard_are_recorded_and_safe_to_repeat(
    sample: tuple[Sample, Seam],
) -> None:
    app, seam = sample
    await app.write(seam.poison)
    [letter] = await wait_for(lambda: dead_letters(app), until=bool, what="dead-lettered")
    seam.broken = False

    report = await app.client.post(
        "/api/ops/dead-letters/replay", json={"event_type": "note.written"}, headers=ADMIN
    )
    assert report.json() | {"results": None} == {
        "applied": 1,
        "already_applied": 0,
        "failed": 0,
        "results": None,
    }
    again = await app.client.post("/api/ops/dead-letters/replay", json={}, headers=ADMIN)
    assert again.json()["results"] == []  # nothing pending any more
    assert await app.notes(seam.poison) == 1

    discarded = await app.client.post(
        f"/api/ops/dead-letters/{letter['id']}/discard", headers=ADMIN
    )
    assert discarded.json()["status"] == "discarded"
    repeated = await app.client.post(f"/api/ops/dead-letters/{letter['id']}/discard", headers=ADMIN)
    assert len(repeated.json()["actions"]) == len(discarded.json()["actions"])
    refused = await app.client.post(f"/api/ops/dead-letters/{letter['id']}/replay", headers=ADMIN)
    assert (refused.status_code, refused.json()["code"]) == (409, "dead_letter_discarded")


async def test_the_operations_api_is_for_administrators_and_refuses_bad_ids(
    sample: tuple[Sample, Seam],
) -> None:
    app, _ = sample
    user = {"Authorization": f"Bearer {token_for(2, secret=SECRET)}"}
    forbidden = await app.client.get("/api/ops/dead-letters", headers=user)
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "forbidden")
    assert (await app.client.get("/api/ops/state")).status_code == 401
    bad = await app.client.get("/api/ops/dead-letters/not-an-id", headers=ADMIN)
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_dead_letter_id")
    missing = await app.client.post(
        "/api/ops/dead-letters/notes.dlq:0:999999/replay", headers=ADMIN
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "dead_letter_not_found")
    wrong = await app.client.get("/api/ops/dead-letters", params={"status": "x"}, headers=ADMIN)
    assert wrong.status_code == 422


async def test_a_message_that_is_not_an_event_is_shown_raw_and_only_discarded(
    sample: tuple[Sample, Seam],
) -> None:
    app, _ = sample
    producer = AIOKafkaProducer(bootstrap_servers=app.runtime.settings.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(app.topic, b"{not json at all")
    finally:
        await producer.stop()
    [letter] = await wait_for(lambda: dead_letters(app), until=bool, what="dead-lettered")
    assert letter["event_type"] is None
    assert letter["reason"].startswith("malformed: not JSON")
    shown = (await app.client.get(f"/api/ops/dead-letters/{letter['id']}", headers=ADMIN)).json()
    assert (shown["payload"], shown["raw"]) == (None, "{not json at all")
    refused = await app.client.post(f"/api/ops/dead-letters/{letter['id']}/replay", headers=ADMIN)
    assert (refused.status_code, refused.json()["code"]) == (409, "not_replayable")
    report = await app.client.post("/api/ops/dead-letters/replay", json={}, headers=ADMIN)
    assert report.json()["results"] == []  # skipped: only a discard deals with it
    discarded = await app.client.post(
        f"/api/ops/dead-letters/{letter['id']}/discard", headers=ADMIN
    )
    assert discarded.json()["status"] == "discarded"
