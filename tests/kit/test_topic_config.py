"""Topics are created so that no event outlives the consumers' dedup records."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shopmesh.kit.kafka import ensure_topics
from shopmesh.kit.settings import ServiceSettings

pytestmark = pytest.mark.kafka


async def _configs(bootstrap: str, topics: list[str]) -> dict[str, dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, topic) for topic in topics]
        described = await admin.describe_configs(resources)
    finally:
        await admin.close()
    found: dict[str, dict[str, str]] = {}
    for response in described:
        for _code, _message, _type, name, entries in response.resources:
            found[name] = {entry[0]: entry[1] for entry in entries}
    return found


async def test_an_event_outlives_its_topic_before_its_dedup_record(kafka_bootstrap: str) -> None:
    topic = f"retention-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [topic, f"{topic}.dlq"])
    configs = await _configs(kafka_bootstrap, [topic, f"{topic}.dlq"])
    events = configs[topic]
    oldest_on_topic = timedelta(
        milliseconds=int(events["retention.ms"]) + int(events["segment.ms"])
    )
    assert oldest_on_topic < ServiceSettings().processed_event_retention
    assert int(configs[f"{topic}.dlq"]["retention.ms"]) > int(events["retention.ms"])
