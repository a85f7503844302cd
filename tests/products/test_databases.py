"""The catalogue behaves the same on SQLite and PostgreSQL: types, search, sort, sku conflicts."""

from __future__ import annotations

from decimal import Decimal

from .support import PRODUCTS, Products, line, make_product, running


async def _names(products: Products, **params: object) -> list[str]:
    response = await products.client.get(PRODUCTS, params=params)
    assert response.status_code == 200, response.text
    return [p["name"] for p in response.json()]


async def test_a_product_round_trips_exactly(database_url: str) -> None:
    async with running(database_url) as products:
        body = make_product(
            name="Ünïcode ✓ kettle",
            price=9999999999.99,
            stock_quantity=1_000_000_000,
            images=[f"https://img.example.com/{n}.jpg" for n in range(10)],
            tags=["a", "b"],
            specifications={"volume": "1.7 l", "plug": "EU"},
            rating=4.9,
            rating_count=2_000_000_000,
        )
        created = await products.new(**body)
        fetched = (await products.client.get(f"{PRODUCTS}/{created['id']}")).json()
        assert fetched == created
        assert fetched["price"] == 9999999999.99
        assert fetched["specifications"] == ["volume: 1.7 l", "plug: EU"]
        [(price, rating)] = await products.rows("SELECT price, rating FROM product")
        assert (Decimal(str(price)), Decimal(str(rating))) == (
            Decimal("9999999999.99"),
            Decimal("4.9"),
        )


async def test_search_category_and_sorting_agree_on_both_databases(database_url: str) -> None:
    async with running(database_url) as products:
        await products.new(name="beta", price=2, category="Kitchen", brand="Acme", rating=3)
        await products.new(name="Alpha", price=3, category="kitchen", description="100% steel")
        await products.new(name="gamma", price=1, category="Garden", brand="ACME", rating=5)
        assert await _names(products, q="acme", sort="name") == ["beta", "gamma"]
        assert await _names(products, q="100%") == ["Alpha"]
        assert await _names(products, category="KITCHEN", sort="-price") == ["Alpha", "beta"]
        assert await _names(products, sort="name") == ["Alpha", "beta", "gamma"]
        assert await _names(products, sort="-rating") == ["gamma", "beta", "Alpha"]
        assert await _names(products, sort="created_at") == ["beta", "Alpha", "gamma"]
        categories = await products.client.get(f"{PRODUCTS}/categories")
        assert categories.json() == ["Garden", "Kitchen"]


async def test_sku_conflicts_are_409_on_both_databases(database_url: str) -> None:
    async with running(database_url) as products:
        first = await products.new()
        second = await products.new()
        created = await products.create(sku=first["sku"])
        patched = await products.client.patch(
            f"{PRODUCTS}/{second['id']}", json={"sku": first["sku"]}, headers=products.headers()
        )
        for response in (created, patched):
            assert response.status_code == 409, response.text
            assert response.json()["code"] == "sku_taken"
        assert (await products.counts())["product"] == 2
        assert (await products.client.get(f"{PRODUCTS}/{second['id']}")).json() == second


async def test_reserve_and_release_on_both_databases(database_url: str) -> None:
    async with running(database_url) as products:
        product = await products.new(price=0.1, stock_quantity=2)
        reserved = line(product["id"], 2)
        response = await products.reserve(reserved)
        assert response.json()["lines"][0]["unit_price"] == 0.1
        assert (await products.reserve(line(product["id"], 1))).status_code == 409
        assert (await products.release(reserved["reservation_id"])).json() == {"released": True}
        assert (await products.release(reserved["reservation_id"])).json() == {"released": False}
        assert await products.stock(product["id"]) == 2
