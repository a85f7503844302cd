"""Every endpoint's happy path and its rules, on SQLite (and PostgreSQL where marked)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shopmesh.customers.consumers import on_user_registered
from shopmesh.customers.repository import CustomersUnitOfWork

from .support import (
    ADMIN_HEADERS,
    ALICE,
    BASE,
    BOB,
    ME,
    Customers,
    auth,
    envelope,
    profile,
    registered,
    running,
)

FIELDS = {
    "id",
    "user_id",
    "name",
    "email",
    "address",
    "city",
    "mobile",
    "preferences",
    "location",
    "interests",
    "sex",
    "created_at",
    "updated_at",
}


def _editable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in {"id", "user_id", "created_at", "updated_at"}}


async def test_me_is_404_customer_not_found_before_a_profile_exists(customers: Customers) -> None:
    response = await customers.me(ALICE)

    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "customer_not_found"
    assert body["error"] == "customer not found"
    assert body["request_id"]


async def test_put_me_creates_the_profile_then_replaces_it(database_url: str) -> None:
    first, second = profile(), profile(name="Ann Smith", city="Chennai", interests=[])
    del second["address"], second["mobile"], second["location"], second["preferences"]
    async with running(database_url) as customers:
        created = await customers.put_me(ALICE, first)
        replaced = await customers.put_me(ALICE, second)
        read = await customers.me(ALICE)

    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == FIELDS
    assert created.headers["location"] == f"{BASE}/{body['id']}"
    assert body["user_id"] == ALICE
    assert _editable(body) == first
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["id"] == body["id"]
    # PUT replaces: what was left out is cleared.
    assert _editable(replaced.json()) == {
        **second,
        "address": None,
        "mobile": None,
        "location": None,
        "preferences": {},
    }
    assert read.json() == replaced.json()
    assert read.json()["created_at"] == body["created_at"]
    assert datetime.fromisoformat(read.json()["updated_at"]) > datetime.fromisoformat(
        body["updated_at"]
    )


async def test_timestamps_are_utc_iso_8601(customers: Customers) -> None:
    body = (await customers.put_me(ALICE, profile())).json()

    for name in ("created_at", "updated_at"):
        moment = datetime.fromisoformat(body[name].replace("Z", "+00:00"))
        assert moment.utcoffset() is not None
        assert moment.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


async def test_patch_me_changes_only_the_fields_sent(database_url: str) -> None:
    async with running(database_url) as customers:
        before = (await customers.put_me(ALICE, profile())).json()
        response = await customers.client.patch(
            ME, json={"city": "Pune", "mobile": None}, headers=auth(ALICE)
        )

    assert response.status_code == 200, response.text
    after = response.json()
    assert (after["city"], after["mobile"]) == ("Pune", None)
    unchanged = {k: v for k, v in before.items() if k not in {"city", "mobile", "updated_at"}}
    assert {k: after[k] for k in unchanged} == unchanged


async def test_patch_me_without_a_profile_is_404_and_creates_nothing(
    customers: Customers,
) -> None:
    response = await customers.client.patch(ME, json=profile(), headers=auth(ALICE))

    assert response.status_code == 404
    assert response.json()["code"] == "customer_not_found"
    assert await customers.count() == 0


async def test_text_is_trimmed_and_blank_optional_fields_become_null(customers: Customers) -> None:
    body = profile(
        name="  Ann  ",
        email=" ann@example.org ",
        address="   ",
        city="",
        mobile=" ",
        location="",
        interests=[" tea ", "tea", "books", "tea"],
        preferences={" theme ": " dark "},
    )

    response = await customers.put_me(ALICE, body)

    assert response.status_code == 201, response.text
    saved = response.json()
    assert (saved["name"], saved["email"]) == ("Ann", "ann@example.org")
    assert [saved[k] for k in ("address", "city", "mobile", "location")] == [None] * 4
    # Repeated interests are kept once, in the order first given.
    assert saved["interests"] == ["tea", "books"]
    assert saved["preferences"] == {"theme": "dark"}


async def test_unknown_and_read_only_fields_are_ignored(customers: Customers) -> None:
    created = (await customers.put_me(ALICE, profile())).json()
    # A client sends back what it read, plus a field this service does not know.
    sent = {**created, "name": "Renamed", "id": 999, "created_at": "2000-01-01T00:00:00Z"}

    response = await customers.put_me(ALICE, {**sent, "favourite_colour": "blue"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["name"], body["created_at"]) == (
        created["id"],
        "Renamed",
        created["created_at"],
    )
    assert "favourite_colour" not in body


async def test_admin_creates_a_profile_for_a_user(database_url: str) -> None:
    body = {"user_id": BOB, **profile()}
    async with running(database_url) as customers:
        response = await customers.create(body)
        mine = await customers.me(BOB)

    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"{BASE}/{created['id']}"
    assert created["user_id"] == BOB
    assert _editable(created) == _editable(body)
    assert mine.json() == created


async def test_a_second_profile_for_a_user_is_409_customer_exists(database_url: str) -> None:
    async with running(database_url) as customers:
        await customers.make(BOB)
        before = await customers.snapshot()
        response = await customers.create({"user_id": BOB, **profile()})
        after = await customers.snapshot()

    assert response.status_code == 409
    assert response.json()["code"] == "customer_exists"
    assert after == before


async def test_an_email_belongs_to_one_customer_in_any_case(database_url: str) -> None:
    async with running(database_url) as customers:
        await customers.make(BOB, email="Shared@Example.org")
        before = await customers.snapshot()
        attempts = [
            await customers.create({"user_id": 303, **profile(email="shared@example.ORG")}),
            await customers.put_me(ALICE, profile(email="SHARED@example.org")),
        ]
        await customers.put_me(ALICE, profile())
        alice_before = (await customers.me(ALICE)).json()
        attempts.append(
            await customers.client.patch(
                ME, json={"email": "shared@example.org"}, headers=auth(ALICE)
            )
        )
        attempts.append(
            await customers.client.put(
                f"{BASE}/{alice_before['id']}",
                json=profile(email="shared@EXAMPLE.org"),
                headers=ADMIN_HEADERS,
            )
        )
        alice_after = (await customers.me(ALICE)).json()
        count = await customers.count()

    assert [(r.status_code, r.json()["code"]) for r in attempts] == [(409, "email_taken")] * 4
    assert alice_after == alice_before
    assert count == len(before) + 1


async def test_changing_the_case_of_ones_own_email_is_allowed(customers: Customers) -> None:
    await customers.put_me(ALICE, profile(email="ann@example.org"))

    response = await customers.client.patch(
        ME, json={"email": "Ann@Example.org"}, headers=auth(ALICE)
    )

    assert response.status_code == 200, response.text
    assert response.json()["email"] == "Ann@Example.org"


async def test_admin_reads_replaces_patches_and_deletes_any_profile(database_url: str) -> None:
    async with running(database_url) as customers:
        bob = await customers.make(BOB)
        url = f"{BASE}/{bob['id']}"
        read = await customers.client.get(url, headers=ADMIN_HEADERS)
        replaced = await customers.client.put(
            url, json=profile(name="Bob B", interests=["chess"]), headers=ADMIN_HEADERS
        )
        patched = await customers.client.patch(
            url, json={"preferences": {"theme": "dark"}}, headers=ADMIN_HEADERS
        )
        deleted = await customers.client.delete(url, headers=ADMIN_HEADERS)
        gone = await customers.client.get(url, headers=ADMIN_HEADERS)
        bobs_me = await customers.me(BOB)
        deleted_again = await customers.client.delete(url, headers=ADMIN_HEADERS)

    assert read.json() == bob
    assert (replaced.status_code, replaced.json()["name"]) == (200, "Bob B")
    assert replaced.json()["interests"] == ["chess"]
    assert replaced.json()["user_id"] == BOB
    assert patched.status_code == 200
    assert patched.json()["preferences"] == {"theme": "dark"}
    assert patched.json()["name"] == "Bob B"
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert (gone.status_code, gone.json()["code"]) == (404, "customer_not_found")
    assert bobs_me.status_code == 404
    assert (deleted_again.status_code, deleted_again.json()["code"]) == (404, "customer_not_found")


async def test_put_by_id_changes_only_the_fields_sent_as_the_seeds_clients_send_them(
    customers: Customers,
) -> None:
    mine = (await customers.put_me(ALICE, profile(city="Hyd"))).json()
    response = await customers.client.put(
        f"{BASE}/{mine['id']}", json={"name": "Jagadamba"}, headers=auth(ALICE)
    )
    assert response.status_code == 200
    assert response.json() == {
        **mine,
        "name": "Jagadamba",
        "updated_at": response.json()["updated_at"],
    }


async def test_put_by_id_takes_back_the_whole_object_the_seed_app_read_with_its_edits(
    customers: Customers,
) -> None:
    # The commerce seed's app PUTs the object it read, edited in text inputs: interests
    # and preferences come back as strings, and read-only or unknown keys come along.
    mine = (await customers.put_me(ALICE, profile())).json()
    assert mine["id"] == mine["user_id"] == ALICE
    edited = {
        **mine,
        "name": "Ann B. Lee",
        "interests": "tea, chess , tea",
        "preferences": "no calls",
        "sex": "Other",
        "role": "user",
        "username": "ann",
        "created_at": "1999-01-01T00:00:00Z",
    }

    response = await customers.client.put(f"{BASE}/{mine['id']}", json=edited, headers=auth(ALICE))

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["interests"], body["preferences"], body["sex"]) == (
        "Ann B. Lee",
        ["tea", "chess"],
        "no calls",
        "Other",
    )
    assert (body["created_at"], body["email"]) == (mine["created_at"], mine["email"])
    again = await customers.client.put(
        f"{BASE}/{mine['id']}", json={**body, "email": None}, headers=auth(ALICE)
    )
    assert (again.status_code, again.json()["email"]) == (200, mine["email"])


async def test_a_user_reads_and_changes_their_own_profile_by_id(customers: Customers) -> None:
    mine = (await customers.put_me(ALICE, profile())).json()
    url = f"{BASE}/{mine['id']}"

    read = await customers.client.get(url, headers=auth(ALICE))
    replaced = await customers.client.put(url, json=profile(name="A2"), headers=auth(ALICE))
    patched = await customers.client.patch(url, json={"city": "Delhi"}, headers=auth(ALICE))

    assert read.json() == mine
    assert (replaced.status_code, replaced.json()["name"]) == (200, "A2")
    assert (patched.status_code, patched.json()["city"]) == (200, "Delhi")


async def test_a_profile_made_at_registration_needs_an_email_on_its_first_edit(
    customers: Customers,
) -> None:
    db = customers.app.runtime.db
    async with CustomersUnitOfWork(db) as uow:
        await on_user_registered(uow, envelope(registered(user_id=ALICE, username="alice")))
    started = (await customers.me(ALICE)).json()
    headers = auth(ALICE)

    without = await customers.client.patch(ME, json={"name": "Alice"}, headers=headers)
    null = await customers.client.patch(ME, json={"email": None}, headers=headers)
    missing = await customers.put_me(ALICE, {"name": "Alice"})
    unchanged = (await customers.me(ALICE)).json()
    with_email = await customers.client.patch(
        ME, json={"name": "Alice", "email": "alice@example.org"}, headers=headers
    )

    assert (started["name"], started["email"]) == ("alice", None)
    assert (without.status_code, without.json()["code"]) == (422, "email_required")
    assert (null.status_code, null.json()["code"]) == (422, "validation_error")
    assert (missing.status_code, missing.json()["code"]) == (422, "validation_error")
    assert unchanged == started
    assert with_email.status_code == 200, with_email.text
    assert with_email.json()["email"] == "alice@example.org"
    assert with_email.json()["id"] == started["id"]


async def test_the_openapi_document_lists_the_routes(customers: Customers) -> None:
    paths = (await customers.client.get("/openapi.json")).json()["paths"]

    assert set(paths[ME]) == {"get", "put", "patch"}
    assert set(paths[BASE]) == {"get", "post"}
    assert set(paths[f"{BASE}/{{customer_id}}"]) == {"get", "put", "patch", "delete"}
