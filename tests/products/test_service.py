"""The products use cases on a unit of work in memory: reservations all or nothing, idempotent
by reservation id, released once; the catalogue's refusals."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from shopmesh.products.domain import (
    OutOfStock,
    ProductNotFound,
    ReservationIdReused,
    ReservationRequest,
    SkuTaken,
)
from shopmesh.products.repository import Catalogue, Stock
from shopmesh.products.service import ProductService
from tests.fakes import assert_same_interface, units_of

from .fakes import FakeCatalogue, FakeProductsUnitOfWork, FakeStock, ProductsStore, product


@pytest.fixture
def store() -> ProductsStore:
    store = ProductsStore()
    store.products = {
        1: product(1, name="Kettle", price=Decimal("24.50"), currency="EUR", stock_quantity=5),
        2: product(2, name="Mug", price=Decimal("3.00"), stock_quantity=10),
        3: product(3, stock_quantity=5, is_active=False),
    }
    return store


@pytest.fixture
def products(store: ProductsStore) -> ProductService:
    return ProductService(units_of(FakeProductsUnitOfWork, store))


def ask(
    product_id: int, quantity: int = 1, reservation_id: str | None = None
) -> ReservationRequest:
    return ReservationRequest(reservation_id or str(uuid.uuid4()), product_id, quantity)


def stock(store: ProductsStore) -> list[int]:
    return [store.products[i].stock_quantity for i in (1, 2, 3)]


def test_the_fakes_keep_the_repositories_interfaces() -> None:
    assert_same_interface(FakeCatalogue, Catalogue)
    assert_same_interface(FakeStock, Stock)


async def test_a_reservation_takes_the_stock_and_answers_the_price_and_name(
    products: ProductService, store: ProductsStore
) -> None:
    kettle, mug = ask(1, 2), ask(2, 4)
    lines = await products.reserve([kettle, mug])
    assert [(x.reservation_id, x.unit_price, x.currency, x.name) for x in lines] == [
        (kettle.reservation_id, Decimal("24.50"), "EUR", "Kettle"),
        (mug.reservation_id, Decimal("3.00"), "USD", "Mug"),
    ]
    assert stock(store) == [3, 6, 5]


async def test_short_stock_refuses_every_line_names_each_short_product_and_keeps_nothing(
    products: ProductService, store: ProductsStore
) -> None:
    with pytest.raises(OutOfStock) as refused:
        await products.reserve([ask(2, 5), ask(1, 3), ask(1, 3)])
    assert refused.value.details == [{"product_id": 1, "requested": 6, "available": 5}]
    assert stock(store) == [5, 10, 5]
    assert store.reservations == {}


async def test_an_unknown_or_inactive_product_refuses_the_whole_reservation(
    products: ProductService, store: ProductsStore
) -> None:
    with pytest.raises(ProductNotFound) as refused:
        await products.reserve([ask(1), ask(98765), ask(3)])
    assert refused.value.details == {"product_ids": [3, 98765]}
    assert (stock(store), store.reservations) == ([5, 10, 5], {})


async def test_a_repeated_reservation_answers_as_the_first_time_and_takes_stock_once(
    products: ProductService, store: ProductsStore
) -> None:
    request = ask(1, 2)
    first = await products.reserve([request])
    await products.update(1, {"price": Decimal("99.00"), "is_active": False})
    repeat = await products.reserve([request])  # the product is gone from sale: still the same
    assert repeat == first
    assert stock(store)[0] == 3


async def test_a_repeat_with_new_lines_reserves_only_the_new_ones(
    products: ProductService, store: ProductsStore
) -> None:
    old = ask(2, 1)
    await products.reserve([old])
    await products.reserve([old, ask(2, 2)])
    assert stock(store)[1] == 7


async def test_a_reservation_id_reused_for_another_line_is_refused(
    products: ProductService, store: ProductsStore
) -> None:
    request = ask(1, 1)
    await products.reserve([request])
    for other in (ask(1, 2, request.reservation_id), ask(2, 1, request.reservation_id)):
        with pytest.raises(ReservationIdReused):
            await products.reserve([other])
    assert stock(store)[:2] == [4, 10]


async def test_a_release_gives_the_stock_back_once_even_for_an_inactive_product(
    products: ProductService, store: ProductsStore
) -> None:
    request = ask(1, 2)
    first = await products.reserve([request])
    await products.deactivate(1)
    assert await products.release(request.reservation_id)
    assert not await products.release(request.reservation_id)
    assert not await products.release(str(uuid.uuid4()))
    assert stock(store)[0] == 5
    assert await products.reserve([request]) == first  # a repeat after release takes nothing
    assert stock(store)[0] == 5


async def test_a_sku_in_use_is_refused_on_create_and_change(products: ProductService) -> None:
    await products.create({"name": "A", "sku": "KB-1"})
    other = await products.create({"name": "B", "sku": "KB-2"})
    with pytest.raises(SkuTaken):
        await products.create({"name": "C", "sku": "KB-1"})
    with pytest.raises(SkuTaken):
        await products.update(other.id, {"sku": "KB-1"})
    assert (await products.update(other.id, {"sku": "KB-2"})).sku == "KB-2"


async def test_inactive_products_are_found_only_when_asked_for(products: ProductService) -> None:
    with pytest.raises(ProductNotFound):
        await products.get(3)
    assert (await products.get(3, include_inactive=True)).id == 3
    with pytest.raises(ProductNotFound):
        await products.update(404, {"name": "x"})
