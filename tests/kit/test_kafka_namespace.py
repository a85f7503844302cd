"""Several deployments on one Kafka cluster (SHOPMESH_KAFKA_NAMESPACE): on real PostgreSQL and
Kafka, two deployments of one service with the same topic and group names, in namespaces of
their own, never see each other's events, and a dead letter goes to its namespace's
``<topic>.dlq`` while the operations API shows it by the names users know."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError
from sqlalchemy import text

from shopmesh.kit.kafka import KafkaNamespace
from shopmesh.kit.operations.topics import read_topics
from shopmesh.kit.runtime import ServiceRuntime
from shopmesh.kit.settings import ServiceSettings
from tests.conftest import fresh_database
from tests.kit.sample import SECRET, sample_app
from tests.support import serve_in_process, token_for, wait_for

ADMIN = {"Authorization": f"Bearer {token_for(1, role='admin', secret=SECRET)}"}
USER = {"Authorization": f"Bearer {token_for(2, secret=SECRET)}"}


def test_the_default_namespace_keeps_the_plain_names() -> None:
    plain = ServiceSettings().namespace
    assert (plain.topic("order-events"), plain.group("payments")) == ("order-events", "payments")
    assert plain.plain("order-events.dlq") == "order-events.dlq"


def test_a_namespace_prefixes_topics_and_groups_and_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOPMESH_KAFKA_NAMESPACE", "staging")
    names = ServiceSettings().namespace
    assert names == KafkaNamespace("staging")
    assert names.topic("order-events.dlq") == "staging.order-events.dlq"
    assert names.group("payments") == "staging.payments"
    assert names.plain("staging.order-events") == "order-events"


@pytest.mark.parametrize("name", ["a.b", "white space", "x" * 65, "ü"])
def test_a_namespace_kafka_could_not_name_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="kafka_namespace"):
        ServiceSettings(kafka_namespace=name)


@dataclass
class Deployment:
    """The kit's sample service (it writes notes to ``notes`` and records them as group
    ``sample``) in Kafka namespace ``names``."""

    client: httpx.AsyncClient
    runtime: ServiceRuntime
    names: KafkaNamespace

    async def write(self, body: str) -> None:
        response = await self.client.post("/notes", json={"body": body}, headers=USER)
        assert response.status_code == 201, response.text

    async def notes(self) -> set[str]:
        async with self.runtime.db.connection() as connection:
            return set((await connection.execute(text("SELECT body FROM note"))).scalars())

    async def on_broker(self, topic: str) -> list[bytes]:
        """The values of the messages on ``topic`` of this namespace."""
        records = await read_topics(self.runtime.settings.kafka_bootstrap, [topic])
        return [r.value or b"" for r in records]


@asynccontextmanager
async def deployed(database_url: str, bootstrap: str, namespace: str) -> AsyncIterator[Deployment]:
    app = sample_app(
        database_url,
        group="sample",
        kafka_bootstrap=bootstrap,
        kafka_namespace=namespace,
        outbox_poll_interval=0.05,
        consumer_retry_backoff=0.01,
        consumer_max_attempts=2,
    )
    async with serve_in_process(app) as client:
        yield Deployment(client, app.runtime, app.runtime.settings.namespace)


@pytest.fixture
async def two(
    postgres_url: str,
    postgres_admin: asyncpg.Connection,
    kafka_bootstrap: str,
    unique: Callable[[str], str],
) -> AsyncIterator[tuple[Deployment, Deployment]]:
    async with (
        fresh_database(postgres_admin) as other_url,
        deployed(postgres_url, kafka_bootstrap, unique("ns-a")) as a,
        deployed(other_url, kafka_bootstrap, unique("ns-b")) as b,
    ):
        yield a, b


@pytest.mark.kafka
@pytest.mark.postgres
async def test_deployments_in_two_namespaces_never_see_each_others_events(
    two: tuple[Deployment, Deployment],
) -> None:
    a, b = two
    tag = uuid.uuid4().hex[:8]
    await a.write(f"a-{tag}")
    await b.write(f"b-{tag}")

    assert await wait_for(a.notes, until=bool, what="a's note applied") == {f"a-{tag}"}
    assert await wait_for(b.notes, until=bool, what="b's note applied") == {f"b-{tag}"}
    # Each event is on its own namespace's topic only, and each group is the namespace's.
    for deployment, body in ((a, f"a-{tag}"), (b, f"b-{tag}")):
        on_topic = await deployment.on_broker(deployment.names.topic("notes"))
        assert [tag.encode() in value for value in on_topic] == [True]
        assert body.encode() in on_topic[0]
        assert await committed(deployment) == {deployment.names.topic("notes")}
    assert await a.notes() == {f"a-{tag}"}  # b's event, long published, never reached a
    # What the services store keeps the plain names.
    async with a.runtime.db.connection() as connection:
        rows = await connection.execute(text("SELECT consumer, topic FROM processed_event"))
        assert rows.all() == [("sample", "notes")]


async def committed(deployment: Deployment) -> set[str]:
    """The topics group ``sample`` of the deployment's namespace committed offsets of."""
    admin = AIOKafkaAdminClient(bootstrap_servers=deployment.runtime.settings.kafka_bootstrap)
    await admin.start()
    try:

        async def topics() -> set[str]:
            offsets = await admin.list_consumer_group_offsets(deployment.names.group("sample"))
            return {partition.topic for partition in offsets}

        return await wait_for(topics, until=bool, what="offsets committed")
    finally:
        await admin.close()


@pytest.mark.kafka
@pytest.mark.postgres
async def test_a_dead_letter_goes_to_its_namespace_and_is_shown_by_its_plain_name(
    two: tuple[Deployment, Deployment],
) -> None:
    a, b = two
    poison = f"poison-{uuid.uuid4().hex[:8]}"
    await a.write(poison)

    async def letters(deployment: Deployment) -> list[dict]:
        response = await deployment.client.get("/api/ops/dead-letters", headers=ADMIN)
        assert response.status_code == 200, response.text
        return response.json()

    [letter] = await wait_for(lambda: letters(a), until=bool, what="the poison dead-lettered")
    assert letter["id"].startswith("notes.dlq:")
    assert (letter["topic"], letter["consumer"], letter["status"]) == ("notes", "sample", "pending")
    dead = await a.on_broker(a.names.topic("notes.dlq"))
    assert [poison.encode() in value for value in dead] == [True]

    discarded = await a.client.post(f"/api/ops/dead-letters/{letter['id']}/discard", headers=ADMIN)
    assert discarded.json()["status"] == "discarded"
    # The action is recorded beside the letter, in the namespace, and read back from there.
    assert len(await a.on_broker(a.names.topic("notes.dlq"))) == 2
    [again] = await letters(a)
    assert (again["id"], again["status"]) == (letter["id"], "discarded")
    assert await letters(b) == []
