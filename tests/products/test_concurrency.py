"""Stock never goes below zero and reservations stay idempotent under concurrent requests,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter

from .support import line, new_reservation_id, running


async def test_twenty_concurrent_reservations_of_five_in_stock_let_exactly_five_through(
    database_url: str,
) -> None:
    async with running(database_url, database_pool_size=25) as products:
        product = await products.new(stock_quantity=5)
        responses = await asyncio.gather(
            *(products.reserve(line(product["id"], 1)) for _ in range(20))
        )
        assert Counter(r.status_code for r in responses) == {200: 5, 409: 15}
        assert {r.json()["code"] for r in responses if r.status_code == 409} == {"out_of_stock"}
        assert await products.stock(product["id"]) == 0
        [(reserved,)] = await products.rows(
            "SELECT count(*) FROM stock_reservation WHERE status = 'reserved'"
        )
        assert reserved == 5


async def test_concurrent_repeats_of_one_reservation_take_stock_once(database_url: str) -> None:
    async with running(database_url, database_pool_size=25) as products:
        product = await products.new(stock_quantity=10)
        same = line(product["id"], 3)
        responses = await asyncio.gather(*(products.reserve(same) for _ in range(15)))
        assert {r.status_code for r in responses} == {200}
        assert len({r.text for r in responses}) == 1
        assert await products.stock(product["id"]) == 7
        assert (await products.counts())["stock_reservation"] == 1


async def test_concurrent_releases_give_stock_back_once(database_url: str) -> None:
    async with running(database_url, database_pool_size=25) as products:
        product = await products.new(stock_quantity=4)
        reserved = line(product["id"], 4)
        await products.reserve(reserved)
        responses = await asyncio.gather(
            *(products.release(reserved["reservation_id"]) for _ in range(15))
        )
        assert Counter(r.json()["released"] for r in responses) == {True: 1, False: 14}
        assert await products.stock(product["id"]) == 4


async def test_crossing_multi_line_reservations_neither_deadlock_nor_oversell(
    database_url: str,
) -> None:
    async with running(database_url, database_pool_size=25) as products:
        first = (await products.new(stock_quantity=6))["id"]
        second = (await products.new(stock_quantity=6))["id"]

        async def order(ids: tuple[int, int]) -> int:
            response = await products.reserve(line(ids[0], 1), line(ids[1], 1))
            return response.status_code

        # Half list the products one way round, half the other.
        statuses = await asyncio.gather(
            *(order((first, second) if n % 2 else (second, first)) for n in range(20))
        )
        assert Counter(statuses) == {200: 6, 409: 14}
        assert await products.stock(first) == await products.stock(second) == 0


async def test_reservations_and_releases_interleaved_keep_stock_exact(database_url: str) -> None:
    async with running(database_url, database_pool_size=25) as products:
        product = (await products.new(stock_quantity=3))["id"]

        async def reserve_then_release() -> bool:
            reservation_id = new_reservation_id()
            response = await products.reserve(line(product, 1, reservation_id))
            if response.status_code != 200:
                return False
            await products.release(reservation_id)
            return True

        results = await asyncio.gather(*(reserve_then_release() for _ in range(20)))
        assert any(results)
        assert await products.stock(product) == 3
        [(held,)] = await products.rows(
            "SELECT count(*) FROM stock_reservation WHERE status = 'reserved'"
        )
        assert held == 0
