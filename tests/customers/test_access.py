"""Who may call what: a valid token everywhere, admin-only routes, a profile's owner is fixed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support import shared_sqlite_url

from .support import ADMIN_HEADERS, ALICE, BASE, BOB, ME, Customers, auth, profile, running

ENDPOINTS = [
    ("GET", ME),
    ("PUT", ME),
    ("PATCH", ME),
    ("GET", BASE),
    ("POST", BASE),
    ("GET", f"{BASE}/1"),
    ("PUT", f"{BASE}/1"),
    ("PATCH", f"{BASE}/1"),
    ("DELETE", f"{BASE}/1"),
]


@pytest.fixture(scope="module")
async def with_bob(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Customers]:
    """One app, holding Bob's profile (customer 1), for the requests without a valid token:
    each is refused, and each test proves with snapshots that it changed nothing."""
    async with running(shared_sqlite_url(tmp_path_factory, "customers-access")) as service:
        await service.make(BOB)
        yield service


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "unauthorized"),
        ("Bearer", "invalid_token"),
        ("Bearer not-a-jwt", "invalid_token"),
        ("Basic dTpw", "unauthorized"),
    ],
)
async def test_every_endpoint_needs_a_valid_token(
    with_bob: Customers, method: str, path: str, authorization: str | None, code: str
) -> None:
    customers = with_bob
    before = await customers.snapshot()
    headers = {} if authorization is None else {"Authorization": authorization}

    response = await customers.client.request(
        method, path, json={"user_id": ALICE, **profile()}, headers=headers
    )

    assert response.status_code == 401, response.text
    assert response.json()["code"] == code
    assert await customers.snapshot() == before


@pytest.mark.parametrize(("method", "path"), [("GET", BASE), ("POST", BASE)])
async def test_listing_and_creating_are_for_administrators(
    customers: Customers, method: str, path: str
) -> None:
    response = await customers.client.request(
        method, path, json={"user_id": ALICE, **profile()}, headers=auth(ALICE)
    )

    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert await customers.count() == 0


async def test_a_bare_token_without_bearer_is_accepted(customers: Customers) -> None:
    await customers.put_me(ALICE, profile())
    bare = auth(ALICE)["Authorization"].removeprefix("Bearer ")

    response = await customers.client.get(ME, headers={"Authorization": bare})

    assert response.status_code == 200
    assert response.json()["user_id"] == ALICE


async def test_own_user_id_in_the_body_is_accepted_and_another_is_refused_403(
    customers: Customers,
) -> None:
    own = await customers.put_me(ALICE, {**profile(), "user_id": ALICE})
    before = await customers.snapshot()

    other = await customers.put_me(ALICE, {**profile(), "user_id": BOB})
    patched = await customers.client.patch(
        ME, json={"name": "X", "user_id": BOB}, headers=auth(ALICE)
    )

    assert own.status_code == 201
    assert (other.status_code, other.json()["code"]) == (403, "forbidden")
    assert (patched.status_code, patched.json()["code"]) == (403, "forbidden")
    assert await customers.snapshot() == before


async def test_a_user_cannot_delete_a_profile_even_their_own(customers: Customers) -> None:
    mine = (await customers.put_me(ALICE, profile())).json()

    response = await customers.client.delete(f"{BASE}/{mine['id']}", headers=auth(ALICE))

    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert await customers.count() == 1


async def test_the_owner_of_a_profile_cannot_be_changed(customers: Customers) -> None:
    bob = await customers.make(BOB)
    url = f"{BASE}/{bob['id']}"
    before = await customers.snapshot()

    put = await customers.client.put(url, json={**profile(), "user_id": 303}, headers=ADMIN_HEADERS)
    patch = await customers.client.patch(url, json={"user_id": 303}, headers=ADMIN_HEADERS)
    same = await customers.client.patch(
        url, json={"user_id": BOB, "name": "Bob"}, headers=ADMIN_HEADERS
    )

    assert [(r.status_code, r.json()["code"]) for r in (put, patch)] == [
        (422, "user_id_immutable")
    ] * 2
    assert (same.status_code, same.json()["user_id"], same.json()["name"]) == (200, BOB, "Bob")
    assert len(await customers.snapshot()) == len(before)
