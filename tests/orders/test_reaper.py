"""Stock reserved for an order that was never recorded (its process died) is given back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from shopmesh.orders import remote
from shopmesh.orders.reaper import IntentReaper
from shopmesh.orders.remote import ProductsClient
from shopmesh.orders.repository import Orders as Orders_
from shopmesh.orders.repository import OrdersUnitOfWork

from .support import ALICE, Fakes, Orders, running

LATER = timedelta(seconds=61)


def reaper(orders: Orders) -> IntentReaper:
    products = ProductsClient(orders.runtime.client)
    return IntentReaper(orders.runtime.units(OrdersUnitOfWork), products, grace=60, interval=3600)


async def test_the_stock_of_an_order_that_died_before_being_recorded_comes_back(
    sqlite_url: str, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    tea = fakes.products.add("Tea", "1.00", stock=5)

    async def died(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    async def no_release(*args: Any, **kwargs: Any) -> None:
        """A dead process releases nothing."""

    async with running(sqlite_url, fakes.urls(), reaper_interval=3600) as orders:
        monkeypatch.setattr(Orders_, "add", died)
        monkeypatch.setattr(remote, "release", no_release)
        body = [{"product_id": tea, "quantity": 2}, {"product_id": tea, "quantity": 1}]
        assert (await orders.place(ALICE, body)).status_code == 503
        assert fakes.products.stock[tea] == 2  # held for orders that do not exist

        assert await reaper(orders).reap(now=datetime.now(UTC)) == 0  # within the grace
        assert await reaper(orders).reap(now=datetime.now(UTC) + LATER) == 2
        assert fakes.products.stock[tea] == 5
        assert fakes.products.reservations == {}
        assert await reaper(orders).reap(now=datetime.now(UTC) + LATER) == 0


async def test_a_recorded_order_keeps_its_stock(sqlite_url: str, fakes: Fakes) -> None:
    tea = fakes.products.add("Tea", "1.00", stock=5)
    async with running(sqlite_url, fakes.urls(), reaper_interval=3600) as orders:
        assert (await orders.place(ALICE, {"product_id": tea, "quantity": 2})).status_code == 201
        assert await reaper(orders).reap(now=datetime.now(UTC) + LATER) == 0
        assert fakes.products.stock[tea] == 3
        assert len(fakes.products.reservations) == 1
