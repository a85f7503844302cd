"""The admin console in Chromium: the services' state, a dead letter shown and replayed (applied
once), one that still fails refused with its reason and discarded, and an order's story."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from playwright.async_api import Page

from shopmesh.analytics.settings import Settings as AnalyticsSettings
from tests.platform_fixtures import Platform
from tests.support import wait_for
from tests.system.commerce import add_product, register
from tests.system.test_console import poison_transaction
from tests.system.test_payments_flow import call
from tests.system.ui.support import DESKTOP, UI, Audit, Watch, expect, sign_in

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def dead_letter_from_the_past(platform: Platform) -> tuple[str, str]:
    """A valid ``transaction.created`` that analytics once gave up on (its cause since fixed):
    the dead letter as the consumer writes it, in the platform's namespace. Its id (by the
    topic's plain name, as the console shows it) and its description."""
    description = f"replayed {uuid.uuid4().hex[:8]}"
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "transaction.created",
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "payments",
        "transaction_id": 888_000_000 + uuid.uuid4().int % 1000,
        "user_id": 515_151,
        "amount": 12.34,
        "description": description,
        "timestamp": datetime.now(UTC).isoformat(),
    }
    headers = [
        ("event_type", b"transaction.created"),
        ("dlq_reason", b"OperationalError: the disk was full"),
        ("dlq_source", b"transactions/0/123456789"),
        ("dlq_consumer", AnalyticsSettings().group_id.encode()),
        ("dlq_attempts", b"3"),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka_bootstrap)
    await producer.start()
    try:
        topic = platform.namespace.topic("transactions.dlq")
        sent = await producer.send_and_wait(
            topic, orjson.dumps(event), key=b"515151", headers=headers
        )
    finally:
        await producer.stop()
    return f"transactions.dlq:{sent.partition}:{sent.offset}", description


async def stats(api: aiohttp.ClientSession) -> dict:
    status, body = await call(api, "GET", "/api/analytics/stats")
    assert status == 200, body
    return body


async def test_the_console_shows_a_dead_letter_and_replays_it(
    ui: UI,
    platform: Platform,
    page: Page,
    api: aiohttp.ClientSession,
    admin_token: str,
) -> None:
    audit = Audit(DESKTOP, Watch().attach(page))
    letter_id, _ = await dead_letter_from_the_past(platform)
    poison_id = await poison_transaction(platform)
    before = await stats(api)
    user = await register(api)
    product = await add_product(api, admin_token, price=3, stock=2)
    status, order = await call(
        api, "POST", "/api/orders", user["token"], json={"product_id": product["id"], "quantity": 1}
    )
    assert status == 201, order
    # The saga charges the order: that transaction is counted before the replay's is looked for.
    placed = before["total_transactions"]
    before = await wait_for(
        lambda: stats(api),
        until=lambda s: s["total_transactions"] == placed + 1,
        what="the order's charge counted",
    )

    await sign_in(page, ui, *platform.admin)
    await page.goto(f"{ui.web}/admin/console")
    await expect(page.get_by_role("heading", name="Services")).to_be_visible()
    await expect(page.get_by_test_id("console-service")).to_have_count(7)
    row = page.get_by_test_id("dead-letter").filter(has_text=letter_id)
    await expect(row).to_contain_text("OperationalError: the disk was full")
    poison = page.get_by_test_id("dead-letter").filter(has_text="ValidationError")
    await expect(poison).to_have_count(1)
    await audit.check(page, "admin-console")

    await row.get_by_role("button", name="Replay").click()
    await expect(page.get_by_text("Replayed: applied.")).to_be_visible()
    await expect(row).to_have_count(0)  # no longer pending
    after = await wait_for(
        lambda: stats(api),
        until=lambda s: s["total_transactions"] > before["total_transactions"],
        what="the replayed transaction counted",
    )
    assert after["total_transactions"] == before["total_transactions"] + 1

    await poison.get_by_role("button", name="Replay").click()
    await expect(
        page.locator(".toast").filter(has_text="replay failed: ValidationError")
    ).to_be_visible()
    await audit.check(page, "admin-console-replay-refused", requests_may_fail=True)
    await poison.get_by_role("button", name="Discard").click()
    await expect(poison).to_have_count(0)

    await page.get_by_label("Id").fill(str(order["id"]))
    await page.get_by_role("button", name="Trace").click()
    story = page.get_by_test_id("story-event")
    await expect(story.first).to_contain_text("order.created")
    await expect(story.first).to_contain_text("dispatcher (dispatcher): applied")
    await audit.check(page, "admin-console-story")
    audit.assert_clean()
    assert poison_id
