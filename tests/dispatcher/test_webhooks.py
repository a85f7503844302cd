"""Webhooks: signed calls to real local receivers, retried with backoff, given up, re-queued."""

from __future__ import annotations

import socket
import time
from typing import Any

import orjson

from tests.support import wait_for

from .receiver import receiving, signature_ok
from .support import ORDER_FIELDS, Dispatcher, make_order, running

FAST_RETRIES = {"webhook_backoff": 0.01, "webhook_backoff_max": 0.05}


async def delivery_status(
    service: Dispatcher, order_id: int, status: str, *, timeout: float = 30.0
) -> Any:
    """Wait until the order's (single) delivery has ``status``; return its row."""

    async def probe() -> list[Any]:
        return await service.deliveries(order_id)

    rows = await wait_for(
        probe,
        until=lambda r: len(r) == 1 and r[0].status == status,
        timeout=timeout,
        what=f"delivery {status}",
    )
    return rows[0]


async def test_a_dispatch_is_posted_signed_to_the_webhook_and_delivered(sqlite_url: str) -> None:
    async with (
        receiving() as hook,
        running(sqlite_url, handling_delay=0, webhook_urls=[hook.url]) as service,
    ):
        order = make_order()
        await service.apply(order)
        row = await delivery_status(service, order["id"], "delivered")
        [event] = await service.events()

    assert row.attempts == 1
    assert row.delivered_at is not None
    assert row.last_error is None
    assert row.url == hook.url
    [call] = hook.received
    assert hook.rejected == 0
    assert signature_ok(call.headers, call.body)
    assert call.headers["Content-Type"] == "application/json"
    assert call.headers["X-ShopMesh-Event"] == "order.dispatched"
    assert call.headers["X-ShopMesh-Delivery"] == str(row.id)
    assert abs(int(call.headers["X-ShopMesh-Timestamp"]) - time.time()) < 60
    body = call.json()
    assert set(body) == {*ORDER_FIELDS, "event_id"}
    assert body == {k: event[k] for k in (*ORDER_FIELDS, "event_id")}
    assert body["status"] == "Dispatched"


async def test_a_receiver_with_another_secret_refuses_the_call(sqlite_url: str) -> None:
    async with (
        receiving() as hook,
        running(
            sqlite_url,
            handling_delay=0,
            webhook_urls=[hook.url],
            webhook_secret="some-other-secret-0123456789-0123456789",
            webhook_max_attempts=1,
        ) as service,
    ):
        order = make_order()
        await service.apply(order)
        row = await delivery_status(service, order["id"], "failed")

    assert hook.rejected == 1
    assert hook.received == []
    assert row.last_error.startswith("HTTP 401")


async def test_a_failing_receiver_is_retried_until_it_accepts(sqlite_url: str) -> None:
    async with (
        receiving(statuses=[500, 503]) as hook,
        running(sqlite_url, handling_delay=0, webhook_urls=[hook.url], **FAST_RETRIES) as service,
    ):
        order = make_order()
        await service.apply(order)
        row = await delivery_status(service, order["id"], "delivered")

    assert row.attempts == 3
    assert row.last_error is None
    assert len(hook.received) == 3
    # One delivery: the same id and the same bytes every time, each attempt freshly signed.
    assert {c.headers["X-ShopMesh-Delivery"] for c in hook.received} == {str(row.id)}
    assert len({c.body for c in hook.received}) == 1


async def test_a_retry_is_made_when_its_backoff_ends_not_at_the_next_poll(
    sqlite_url: str,
) -> None:
    # Polled only every 30 s: the worker sleeps until the retry is due instead.
    slow_poll = {"webhook_backoff": 0.3, "webhook_poll_interval": 30}
    async with (
        receiving(statuses=[503]) as hook,
        running(sqlite_url, handling_delay=0, webhook_urls=[hook.url], **slow_poll) as service,
    ):
        order = make_order()
        await service.apply(order)
        row = await delivery_status(service, order["id"], "delivered", timeout=5)
    assert row.attempts == 2


async def test_an_always_failing_receiver_ends_failed_listed_and_can_be_retried(
    sqlite_url: str,
) -> None:
    async with (
        receiving(status=500) as hook,
        running(
            sqlite_url,
            handling_delay=0,
            webhook_urls=[hook.url],
            webhook_max_attempts=3,
            **FAST_RETRIES,
        ) as service,
    ):
        order = make_order()
        await service.apply(order)
        row = await delivery_status(service, order["id"], "failed")
        assert len(hook.received) == 3

        url = "/api/dispatcher/webhooks/failed"
        anonymous = await service.client.get(url)
        user = await service.client.get(url, headers=service.headers(role="user"))
        listed = await service.client.get(url, headers=service.headers())

        hook.status = 200
        retry = f"/api/dispatcher/webhooks/{row.id}/retry"
        assert (await service.client.post(retry)).status_code == 401
        assert (
            await service.client.post(retry, headers=service.headers(role="user"))
        ).status_code == 403
        retried = await service.client.post(retry, headers=service.headers())
        delivered = await delivery_status(service, order["id"], "delivered")
        again = await service.client.post(retry, headers=service.headers())
        after = await service.client.get(url, headers=service.headers())

    assert row.attempts == 3
    assert row.last_error == "HTTP 500: receiver says no"
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    assert (user.status_code, user.json()["code"]) == (403, "forbidden")
    assert listed.status_code == 200
    [item] = listed.json()
    assert item["id"] == row.id
    assert item["order_id"] == order["id"]
    assert item["url"] == hook.url
    assert item["attempts"] == 3
    assert item["last_error"] == "HTTP 500: receiver says no"
    assert item["status"] == "failed"
    assert item["created_at"]
    assert retried.status_code == 202
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    assert delivered.attempts == 1
    assert len(hook.received) == 4
    assert (again.status_code, again.json()["code"]) == (409, "delivery_not_failed")
    assert after.json() == []


async def test_an_unreachable_receiver_fails_with_the_connection_error(sqlite_url: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{closed_port}/hook"
    async with running(
        sqlite_url, handling_delay=0, webhook_urls=[url], webhook_max_attempts=2, **FAST_RETRIES
    ) as service:
        order = make_order()
        await service.apply(order)
        row = await delivery_status(service, order["id"], "failed")

    assert row.attempts == 2
    assert "Connect" in row.last_error


async def test_a_receiver_that_does_not_answer_in_time_fails_with_a_timeout(
    sqlite_url: str,
) -> None:
    async with (
        receiving(hang=True) as hook,
        running(
            sqlite_url,
            handling_delay=0,
            webhook_urls=[hook.url],
            webhook_timeout=0.2,
            webhook_max_attempts=2,
            **FAST_RETRIES,
        ) as service,
    ):
        order = make_order()
        await service.apply(order)
        row = await delivery_status(service, order["id"], "failed")

    assert row.attempts == 2
    assert row.last_error == "no answer within 0.2s"


async def test_a_hanging_receiver_delays_neither_dispatch_nor_other_receivers(
    sqlite_url: str,
) -> None:
    async with (
        receiving(hang=True) as stuck,
        receiving() as healthy,
        running(
            sqlite_url,
            handling_delay=0,
            webhook_urls=[stuck.url, healthy.url],
            webhook_timeout=120,
        ) as service,
    ):
        first, second = make_order(), make_order()
        await service.apply(first)
        await wait_for(stuck.count, until=lambda n: n == 1, what="the stuck call in flight")
        await service.apply(second)
        await service.wait_for_status(second["id"], "dispatched", timeout=5)
        await wait_for(healthy.count, until=lambda n: n == 2, timeout=5, what="healthy calls")
        await wait_for(stuck.count, until=lambda n: n == 2, timeout=5, what="both stuck calls")
        stuck_rows = [r for r in await service.deliveries() if r.url == stuck.url]

    assert {orjson.loads(c.body)["id"] for c in healthy.received} == {first["id"], second["id"]}
    # Still in their first attempt when the test ended.
    assert [(r.status, r.attempts) for r in stuck_rows] == [("pending", 1), ("pending", 1)]


async def test_a_json_list_of_urls_queues_one_delivery_per_url(sqlite_url: str) -> None:
    async with (
        receiving() as one,
        receiving() as two,
        running(
            sqlite_url, handling_delay=0, webhook_urls=f'["{one.url}", "{two.url}"]'
        ) as service,
    ):
        order = make_order()
        await service.apply(order)

        async def delivered() -> list[Any]:
            return [r for r in await service.deliveries(order["id"]) if r.status == "delivered"]

        await wait_for(delivered, until=lambda rows: len(rows) == 2, what="both delivered")

    assert (len(one.received), len(two.received)) == (1, 1)
