"""The orders use cases on their ports in memory (unit of work, products, customers): placing,
idempotency, reading with what the other services say, cancelling, dispatches, the reaper."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from shopmesh.kit.clock import utcnow
from shopmesh.kit.errors import AppError, ServiceUnavailable
from shopmesh.kit.idempotency import IdempotencyKeyReused
from shopmesh.orders.domain import (
    AlreadyDispatched,
    OrderLine,
    OrderNotFound,
    OrderStatus,
    TotalTooLarge,
)
from shopmesh.orders.reaper import IntentReaper
from shopmesh.orders.repository import Intents, Orders
from shopmesh.orders.service import OrderService
from tests.fakes import assert_same_interface, units_of

from .memory import (
    FakeIntents,
    FakeOrders,
    FakeOrdersUnitOfWork,
    MemoryCustomers,
    MemoryProducts,
    OrdersStore,
)

ALICE, BOB = 101, 202
TOKEN = "Bearer alice"


class World:
    """Orders' use cases on its fakes, and the fakes to look at."""

    def __init__(self, **options: Any) -> None:
        self.store = OrdersStore()
        self.products = MemoryProducts()
        self.customers = MemoryCustomers()
        self.units = units_of(FakeOrdersUnitOfWork, self.store)
        self.notified: list[Any] = []
        self.orders = OrderService(
            self.units,
            products=self.products,  # type: ignore[arg-type]
            customers=self.customers,  # type: ignore[arg-type]
            notify=self.notified.append,
            **options,
        )

    async def place(self, customer: int, *lines: tuple[int, int], key: str | None = None) -> Any:
        requested = [OrderLine(p, q) for p, q in lines]
        return await self.orders.place_orders(customer, requested, idempotency_key=key)

    def kinds(self) -> list[str]:
        return [e.event_type for e in self.store.published]


@pytest.fixture
def world() -> World:
    return World()


def test_the_fakes_keep_the_repositories_interfaces() -> None:
    assert_same_interface(FakeOrders, Orders)
    assert_same_interface(FakeIntents, Intents)


async def test_each_line_becomes_a_created_order_priced_by_products_and_announced(
    world: World,
) -> None:
    tea, cup = world.products.add("Tea", "1.25"), world.products.add("Cup", "3.00")
    placed = await world.place(ALICE, (tea, 2), (cup, 1))
    first, second = placed.value
    assert not placed.replayed
    assert (first.product_name, first.per_cost, first.total_cost) == (
        "Tea",
        Decimal("1.25"),
        Decimal("2.50"),
    )
    assert (second.status, second.customer_id, second.updated_by) == (
        OrderStatus.CREATED,
        ALICE,
        "customer",
    )
    assert world.products.stock[tea] == 98
    assert [(e.event_type, e.id) for e in world.store.published] == [
        ("order.created", first.id),
        ("order.created", second.id),
    ]
    assert world.store.intents == {}  # settled with the orders
    assert [c.order_id for c in world.notified] == [first.id, second.id]


@pytest.mark.parametrize(("product", "code"), [(None, "product_not_found"), (0, "out_of_stock")])
async def test_a_refused_reservation_passes_on_and_creates_nothing(
    world: World, product: int | None, code: str
) -> None:
    tea = world.products.add("Tea", "1.00", stock=1)
    with pytest.raises(AppError) as refused:
        await world.place(ALICE, (tea if product is not None else 9999, 2))
    assert refused.value.code == code
    assert (world.store.orders, world.store.published, world.notified) == ({}, [], [])


async def test_products_away_is_a_503_and_what_it_may_have_reserved_is_released(
    world: World,
) -> None:
    tea = world.products.add("Tea", "1.00")
    world.products.down = True
    with pytest.raises(ServiceUnavailable):
        await world.place(ALICE, (tea, 1))
    assert world.products.calls["release"] == 1
    assert world.store.orders == {}


async def test_orders_not_recorded_give_their_stock_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    tea = world.products.add("Tea", "1.00", stock=5)

    async def database_gone(*args: object, **kwargs: object) -> None:
        raise ServiceUnavailable("database unavailable")

    monkeypatch.setattr(FakeOrders, "add", database_gone)
    with pytest.raises(ServiceUnavailable):
        await world.place(ALICE, (tea, 2), (tea, 1))
    assert (world.products.stock[tea], world.products.reservations) == (5, {})
    assert len(world.products.released) == 2


async def test_a_total_too_large_for_the_ledger_is_refused_and_released(world: World) -> None:
    gold = world.products.add("Gold bar", "9999999999.00", stock=5)
    with pytest.raises(TotalTooLarge):
        await world.place(ALICE, (gold, 2))
    assert world.products.stock[gold] == 5
    assert world.store.orders == {}


async def test_a_reservation_the_reaper_took_back_is_refused_and_given_back(world: World) -> None:
    tea = world.products.add("Tea", "1.00", stock=5)
    reserve = world.products.reserve

    async def reserve_then_reaped(lines: Any, references: Any) -> Any:
        answer = await reserve(lines, references)
        world.store.intents.clear()  # the reaper was faster than this request
        return answer

    world.products.reserve = reserve_then_reaped  # type: ignore[method-assign]
    with pytest.raises(ServiceUnavailable, match="reservation expired"):
        await world.place(ALICE, (tea, 1))
    assert world.products.stock[tea] == 5
    assert world.store.orders == {}


async def test_the_same_key_replays_the_first_orders_as_they_are_now(world: World) -> None:
    tea = world.products.add("Tea", "1.00", stock=10)
    first = await world.place(ALICE, (tea, 2), key="k")
    await world.orders.cancel_order(ALICE, first.value[0].id)
    again = await world.place(ALICE, (tea, 2), key="k")
    assert again.replayed
    assert [o.id for o in again.value] == [o.id for o in first.value]
    assert again.value[0].status is OrderStatus.CANCELLED
    assert world.products.calls["reserve"] == 1
    assert world.kinds() == ["order.created", "order.cancelled"]


async def test_a_key_reused_with_other_lines_is_refused_before_reserving(world: World) -> None:
    tea = world.products.add("Tea", "1.00", stock=10)
    await world.place(ALICE, (tea, 2), key="k")
    with pytest.raises(IdempotencyKeyReused):
        await world.place(ALICE, (tea, 3), key="k")
    assert world.products.calls["reserve"] == 1
    await world.place(BOB, (tea, 3), key="k")  # another customer's key


async def test_a_key_a_concurrent_request_took_first_answers_with_its_orders(
    world: World,
) -> None:
    tea = world.products.add("Tea", "1.00", stock=10)
    reserve = world.products.reserve

    async def winner_commits_meanwhile(lines: Any, references: Any) -> Any:
        world.products.reserve = reserve  # type: ignore[method-assign]
        await world.place(ALICE, (tea, 2), key="k")  # the other request, done first
        return await reserve(lines, references)

    world.products.reserve = winner_commits_meanwhile  # type: ignore[method-assign]
    ours = await world.place(ALICE, (tea, 2), key="k")
    assert ours.replayed
    assert len(world.store.orders) == 1
    assert [o.id for o in ours.value] == list(world.store.orders)
    assert world.products.stock[tea] == 8  # our surplus reservation was released


async def test_without_a_key_each_request_places_new_orders(world: World) -> None:
    tea = world.products.add("Tea", "1.00")
    await world.place(ALICE, (tea, 1))
    await world.place(ALICE, (tea, 1))
    assert len(world.store.orders) == 2


async def test_the_list_is_the_callers_newest_first_decorated_by_one_call_each(
    world: World,
) -> None:
    tea, cup = world.products.add("Tea", "1.00"), world.products.add("Cup", "3.00")
    world.customers.profiles[TOKEN] = {"name": "alice"}
    for product in (tea, cup, tea):
        await world.place(ALICE, (product, 1))
    await world.place(BOB, (cup, 1))
    world.products.calls.clear()
    views = await world.orders.list_orders(ALICE, authorization=TOKEN)
    assert [v.order.id for v in views] == [3, 2, 1]
    assert [v.product["name"] for v in views] == ["Tea", "Cup", "Tea"]  # type: ignore[index]
    assert all(v.customer == {"name": "alice"} for v in views)
    assert world.products.calls == {"list": 1}
    assert world.customers.authorizations == [TOKEN]


async def test_an_empty_list_asks_nobody(world: World) -> None:
    assert await world.orders.list_orders(ALICE, authorization=TOKEN) == []
    assert (world.products.calls, world.customers.authorizations) == ({}, [])


@pytest.mark.parametrize("away", ["down", "slow"])
async def test_an_unavailable_or_slow_service_leaves_only_its_part_empty(away: str) -> None:
    world = World(lookup_timeout=0.05)
    tea = world.products.add("Tea", "1.00")
    await world.place(ALICE, (tea, 1))
    world.customers.profiles[TOKEN] = {"name": "alice"}
    if away == "down":
        world.products.down = True
    else:
        world.products.delay = 5
    [view] = await world.orders.list_orders(ALICE, authorization=TOKEN)
    assert (view.product, view.customer) == (None, {"name": "alice"})


async def test_the_list_filters_by_status_and_pages(world: World) -> None:
    tea = world.products.add("Tea", "1.00")
    ids = [(await world.place(ALICE, (tea, 1))).value[0].id for _ in range(4)]
    await world.orders.cancel_order(ALICE, ids[1])
    created = await world.orders.list_orders(
        ALICE, authorization=TOKEN, status=OrderStatus.CREATED, limit=2, offset=1
    )
    assert [v.order.id for v in created] == [ids[2], ids[0]]


async def test_someone_elses_or_an_unknown_order_is_not_found(world: World) -> None:
    tea = world.products.add("Tea", "1.00")
    [order] = (await world.place(ALICE, (tea, 1))).value
    assert (await world.orders.get_order(ALICE, order.id, authorization=TOKEN)).order == order
    for customer, order_id in ((BOB, order.id), (ALICE, order.id + 1)):
        with pytest.raises(OrderNotFound):
            await world.orders.get_order(customer, order_id, authorization=TOKEN)
        with pytest.raises(OrderNotFound):
            await world.orders.cancel_order(customer, order_id)


async def test_cancelling_announces_once_and_a_dispatched_order_stays(world: World) -> None:
    tea = world.products.add("Tea", "1.00")
    first, second = (await world.place(ALICE, (tea, 1), (tea, 1))).value
    cancelled = await world.orders.cancel_order(ALICE, first.id)
    again = await world.orders.cancel_order(ALICE, first.id)
    assert (cancelled.status, cancelled.updated_by) == (OrderStatus.CANCELLED, "customer")
    assert again == cancelled
    await world.orders.confirm_dispatches([first.id, second.id, second.id, 9999])
    with pytest.raises(AlreadyDispatched):
        await world.orders.cancel_order(ALICE, second.id)
    events = world.store.published
    assert [(e.event_type, e.id) for e in events[2:]] == [("order.cancelled", first.id)]
    assert world.store.orders[second.id].updated_by == "dispatcher"
    assert world.store.orders[first.id].status is OrderStatus.CANCELLED


async def test_the_reaper_gives_back_the_stock_of_orders_never_recorded(world: World) -> None:
    tea = world.products.add("Tea", "1.00", stock=5)
    recorded = await world.place(ALICE, (tea, 1))
    lost = ["lost-1", "lost-2"]
    world.products.reservations |= {ref: (tea, 2) for ref in lost}
    world.products.stock[tea] -= 4
    async with world.units() as uow:
        await uow.intents.add(lost, now=utcnow())
    reaper = IntentReaper(world.units, world.products, grace=60, interval=3600)  # type: ignore[arg-type]
    assert await reaper.reap() == 0  # within the grace
    world.products.refuse_releases = True
    assert await reaper.reap(now=utcnow() + timedelta(seconds=61)) == 0  # products away: later
    world.products.refuse_releases = False
    assert await reaper.reap(now=utcnow() + timedelta(seconds=61)) == 2
    assert world.products.stock[tea] == 4
    assert list(world.products.reservations) == [recorded.value[0].reference]
    assert world.store.intents == {}
