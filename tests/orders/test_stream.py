"""The live status stream over a real socket: only the caller's changes, keep-alives, clean-up.

Kafka is off here, so each change reaches this process's streams straight
from the use case; the Kafka path is in test_kafka.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support import wait_for

from .support import ALICE, BOB, Fakes, Orders, served, status_stream


@pytest.fixture
async def live(sqlite_url: str, fakes: Fakes) -> AsyncIterator[Orders]:
    async with served(sqlite_url, fakes.urls()) as orders:
        yield orders


async def test_the_stream_is_server_sent_events_that_proxies_do_not_buffer(live: Orders) -> None:
    async with status_stream(live, ALICE) as stream:
        headers = stream.response.headers
        assert headers["content-type"].startswith("text/event-stream")
        assert headers["cache-control"] == "no-cache"
        assert headers["x-accel-buffering"] == "no"
        assert "content-length" not in headers


async def test_the_caller_sees_each_change_of_their_orders(live: Orders, fakes: Fakes) -> None:
    tea = fakes.products.add("Tea", "1.00")
    async with status_stream(live, ALICE) as stream:
        placed = await live.place_one(ALICE, tea)
        assert await stream.next_event() == (
            "status",
            {"order_id": placed["id"], "status": "Created", "updated_at": placed["updated_at"]},
        )

        cancelled = (await live.cancel(ALICE, placed["id"])).json()
        assert await stream.next_event() == (
            "status",
            {
                "order_id": placed["id"],
                "status": "Cancelled",
                "updated_at": cancelled["updated_at"],
            },
        )


async def test_nobody_hears_someone_elses_orders(live: Orders, fakes: Fakes) -> None:
    tea = fakes.products.add("Tea", "1.00")
    async with status_stream(live, ALICE) as alices, status_stream(live, BOB) as bobs:
        alice_order = await live.place_one(ALICE, tea)
        assert (await alices.next_event())[1]["order_id"] == alice_order["id"]
        bob_order = await live.place_one(BOB, tea)

        # Alice's change went out first: had Bob's stream received it, it would come first.
        assert (await bobs.next_event())[1]["order_id"] == bob_order["id"]
        await live.cancel(ALICE, alice_order["id"])
        assert (await alices.next_event())[1] == {
            "order_id": alice_order["id"],
            "status": "Cancelled",
            "updated_at": (await live.get(ALICE, alice_order["id"])).json()["updated_at"],
        }


async def test_several_streams_of_one_customer_all_hear_a_change(
    live: Orders, fakes: Fakes
) -> None:
    tea = fakes.products.add("Tea", "1.00")
    async with status_stream(live, ALICE) as tab1, status_stream(live, ALICE) as tab2:
        placed = await live.place_one(ALICE, tea)

        assert (await tab1.next_event())[1]["order_id"] == placed["id"]
        assert (await tab2.next_event())[1]["order_id"] == placed["id"]


async def test_an_idle_stream_gets_keep_alive_comments(sqlite_url: str, fakes: Fakes) -> None:
    async with (
        served(sqlite_url, fakes.urls(), stream_keepalive=0.05) as orders,
        status_stream(orders, ALICE) as stream,
    ):
        assert await stream.next(timeout=5) == ("comment", "keep-alive")
        assert await stream.next(timeout=5) == ("comment", "keep-alive")


async def test_a_closed_stream_unsubscribes_at_once(live: Orders) -> None:
    async with status_stream(live, ALICE):
        assert live.hub.subscribers(ALICE) == 1

    # The default keep-alive is 15 s: the disconnect itself must free the subscriber.
    await wait_for(
        lambda: _count(live), until=lambda n: n == 0, timeout=5, what="subscriber removed"
    )


async def _count(orders: Orders) -> int:
    return orders.hub.subscribers()
