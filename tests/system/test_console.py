"""The operator's console through the gateway, on the whole platform: an order's story
(API and ``shopmesh trace``), and a dead letter listed, refused a replay while its cause
stands, and discarded (API and ``shopmesh dlq``)."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from shopmesh.catalog import PRODUCED, event_type_of
from shopmesh.console.client import OpsClient
from shopmesh.console.story import Story, trace
from tests.platform_fixtures import Platform
from tests.support import wait_for
from tests.system.commerce import add_product, call, register

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
SHOPMESH = str(Path(sys.executable).parent / "shopmesh")


async def shopmesh(platform: Platform, token: str, *args: str) -> tuple[int, str]:
    """The ``shopmesh`` command against the platform's gateway as the admin."""
    env = {**os.environ, "SHOPMESH_GATEWAY_URL": platform.gateway, "SHOPMESH_TOKEN": token}
    process = await asyncio.create_subprocess_exec(
        SHOPMESH, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


def complete(story: Story) -> bool:
    types = [item.event.get("event_type") for item in story.events]
    hops = [hop for item in story.events for hop in item.hops]
    return "order.dispatched" in types and all(not hop.missing for hop in hops)


async def test_an_orders_story_shows_every_event_and_who_applied_it(
    platform: Platform, http: aiohttp.ClientSession, admin_token: str
) -> None:
    user = await register(http)
    product = await add_product(http, admin_token, price=12.5, stock=5)
    status, order = await call(
        http,
        "POST",
        "/api/orders",
        user["token"],
        json={"product_id": product["id"], "quantity": 1},
    )
    assert status == 201, order
    client = OpsClient(platform.gateway, admin_token)
    try:
        story = await wait_for(
            lambda: trace(client, "order", str(order["id"])),
            until=complete,
            timeout=60,
            what="the order's story through dispatch",
        )
    finally:
        await client.close()

    assert story.unanswered == {}
    types = [item.event["event_type"] for item in story.events]
    assert types[0] == "order.created"
    assert types[-1] == "order.dispatched"
    # The saga's payment events, once the platform has them, sit between the two.
    produced = {event_type_of(e) for e in PRODUCED}
    for payment in sorted(t for t in produced if t.startswith("payment.")):
        if payment == "payment.authorized":
            assert payment in types[1:-1], types
    created, dispatched = story.events[0], story.events[-1]
    assert created.event["producer"] == "orders"
    assert dispatched.event["producer"] == "dispatcher"
    assert {hop.service for hop in created.hops} >= {"dispatcher"}
    [authorized] = [
        item for item in story.events if item.event["event_type"] == "payment.authorized"
    ]
    assert {hop.service for hop in authorized.hops} >= {"orders"}
    # The order's request started a trace at the gateway; the event carries it.
    assert len(created.event["trace_id"]) == 32
    for item in story.events:
        for hop in item.hops:
            assert hop.applied_at is not None
            assert hop.applied_at >= item.event["occurred_at"]

    code, printed = await shopmesh(platform, admin_token, "trace", "order", str(order["id"]))
    assert code == 0, printed
    assert printed.splitlines()[0] == f"order {order['id']}: {len(story.events)} events"
    assert "order.created" in printed
    assert "order.dispatched" in printed
    assert "MISSING" not in printed


async def poison_transaction(platform: Platform) -> str:
    """A ``transaction.created`` without an amount, sent to the platform's ``transactions``
    as any Kafka client could."""
    event_id = str(uuid.uuid4())
    event = {
        "event_id": event_id,
        "event_type": "transaction.created",
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "someone-else",
        "transaction_id": 999_999_999,
        "user_id": 424_242,
        "description": "no amount",
        "timestamp": datetime.now(UTC).isoformat(),
    }
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka_bootstrap)
    await producer.start()
    try:
        topic = platform.namespace.topic("transactions")
        await producer.send_and_wait(topic, orjson.dumps(event), key=b"424242")
    finally:
        await producer.stop()
    return event_id


async def test_a_dead_letter_is_listed_refused_replay_and_discarded_through_the_gateway(
    platform: Platform, http: aiohttp.ClientSession, admin_token: str
) -> None:
    event_id = await poison_transaction(platform)

    async def analytics_letters() -> list[dict]:
        status, body = await call(http, "GET", "/api/ops/analytics/dead-letters", admin_token)
        assert status == 200, body
        return [letter for letter in body if letter["event_id"] == event_id]

    [letter] = await wait_for(analytics_letters, until=bool, what="the poison dead-lettered")
    assert letter["topic"] == "transactions"
    assert letter["reason"].startswith("ValidationError")
    assert letter["status"] == "pending"

    user = await register(http)
    status, body = await call(http, "GET", "/api/ops/analytics/dead-letters", user["token"])
    assert (status, body["code"]) == (403, "forbidden")

    code, listed = await shopmesh(platform, admin_token, "dlq", "list", "--status", "pending")
    assert code == 0, listed
    assert letter["id"] in listed

    code, replayed = await shopmesh(platform, admin_token, "dlq", "replay", letter["id"])
    assert code == 1
    assert "replay failed: ValidationError" in replayed
    code, discarded = await shopmesh(platform, admin_token, "dlq", "discard", letter["id"])
    assert (code, discarded.strip()) == (0, f"{letter['id']}: discarded")
    [after] = await analytics_letters()
    assert after["status"] == "discarded"
    assert [(a["outcome"], a["actor"]) for a in after["actions"]] == [
        ("failed", platform.admin[0]),
        ("discarded", platform.admin[0]),
    ]
    stats_status, stats = await call(http, "GET", "/api/analytics/stats")
    assert stats_status == 200
    assert Decimal(str(stats["total_amount"])) >= 0
