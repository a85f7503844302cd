"""The administrators' list: pages in id order, a search over name, email and city, a total."""

from __future__ import annotations

from typing import Any

import httpx

from .support import ADMIN_HEADERS, BASE, Customers, running


async def _list(customers: Customers, **params: Any) -> tuple[list[dict[str, Any]], int]:
    response: httpx.Response = await customers.client.get(
        BASE, params=params, headers=ADMIN_HEADERS
    )
    assert response.status_code == 200, response.text
    return response.json(), int(response.headers["X-Total-Count"])


async def test_an_empty_list_is_an_empty_array_with_total_zero(customers: Customers) -> None:
    assert await _list(customers) == ([], 0)
    assert await _list(customers, q="anything") == ([], 0)


async def test_pages_follow_the_id_order_with_the_total_in_a_header(customers: Customers) -> None:
    made = [await customers.make(1000 + i, name=f"Customer {i}") for i in range(25)]
    ids = [c["id"] for c in made]

    first, total = await _list(customers)
    middle, _ = await _list(customers, limit=10, offset=10)
    last, last_total = await _list(customers, limit=10, offset=20)
    beyond, beyond_total = await _list(customers, offset=25)
    everything, _ = await _list(customers, limit=100)

    assert total == last_total == beyond_total == 25
    assert [c["id"] for c in first] == ids[:20]
    assert [c["id"] for c in middle] == ids[10:20]
    assert [c["id"] for c in last] == ids[20:]
    assert beyond == []
    assert everything == made


async def test_search_matches_name_email_or_city_in_any_case(database_url: str) -> None:
    async with running(database_url) as customers:
        ann = await customers.make(11, name="Ann Lee", email="ann@north.example", city="Leeds")
        raj = await customers.make(12, name="Raj Kumar", email="RAJ@south.example", city="Chennai")
        lee = await customers.make(13, name="Bo", email="bo@lee.example", city="Pune")
        nocity = await customers.make(14, name="Zed", email="zed@z.example", city=None)
        by_name = await _list(customers, q="raj KUM")
        by_email = await _list(customers, q="NORTH.EXAMPLE")
        by_city = await _list(customers, q="chen")
        across = await _list(customers, q="lee")
        paged = await _list(customers, q="lee", limit=1, offset=1)
        nothing = await _list(customers, q="nobody")
        blank = await _list(customers, q="")

    assert by_name == ([raj], 1)
    assert by_email == ([ann], 1)
    assert by_city == ([raj], 1)
    # "lee" is Ann's surname, her city's start and Bo's email domain.
    assert across == ([ann, lee], 2)
    assert paged == ([lee], 2)
    assert nothing == ([], 0)
    assert blank == ([ann, raj, lee, nocity], 4)


async def test_user_ids_pick_the_profiles_of_those_accounts(database_url: str) -> None:
    async with running(database_url) as customers:
        ann = await customers.make(41, name="Ann Lee")
        await customers.make(42, name="Raj Kumar")
        bo = await customers.make(43, name="Bo Lee")
        chosen = await _list(customers, user_ids="43,41,99")
        repeated = await _list(customers, user_ids=["41", "43"])
        with_search = await _list(customers, user_ids="41,42", q="lee")

    # In id order like any page, only the accounts named; an account without a profile adds nothing.
    assert chosen == ([ann, bo], 2)
    assert repeated == ([ann, bo], 2)
    assert with_search == ([ann], 1)


async def test_search_wildcards_are_taken_literally(customers: Customers) -> None:
    percent = await customers.make(21, name="100% Cotton")
    await customers.make(22, name="1000 Cotton")
    underscore = await customers.make(23, name="snake_case")
    await customers.make(24, name="snakeXcase")

    assert await _list(customers, q="100%") == ([percent], 1)
    assert await _list(customers, q="e_c") == ([underscore], 1)
    assert await _list(customers, q="%") == ([percent], 1)


async def test_search_folds_case_beyond_ascii(database_url: str) -> None:
    async with running(database_url) as customers:
        emile = await customers.make(31, name="Émile Zola", city="Paris")
        street = await customers.make(32, name="Anna", city="Großbeeren")
        await customers.make(33, name="Emil", city="Oslo")

        assert await _list(customers, q="ÉMILE") == ([emile], 1)
        assert await _list(customers, q="GROSSBEEREN") == ([street], 1)
        assert await _list(customers, q="großb") == ([street], 1)
