"""On PostgreSQL: racing requests and the consumer never make two profiles, or a 500."""

from __future__ import annotations

import asyncio

import pytest

from shopmesh.customers.consumers import HANDLERS
from shopmesh.customers.repository import CustomersUnitOfWork

from .support import ALICE, BASE, ME, auth, envelope, new_user_id, profile, registered, running

pytestmark = pytest.mark.postgres


async def test_concurrent_first_puts_create_one_profile(postgres_url: str) -> None:
    async with running(postgres_url, database_pool_size=20) as customers:
        bodies = [profile(name=f"Ann {i}", email=f"ann{i}@example.org") for i in range(10)]
        responses = await asyncio.gather(*(customers.put_me(ALICE, b) for b in bodies))
        rows = await customers.rows("SELECT user_id, name, email FROM customer")

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 9 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    # The last writer wins: the stored profile is one of those sent, whole.
    assert len(rows) == 1
    assert (rows[0].name, rows[0].email) in {(b["name"], b["email"]) for b in bodies}


async def test_two_users_claiming_one_email_at_once_one_wins_the_other_gets_409(
    postgres_url: str,
) -> None:
    async with running(postgres_url, database_pool_size=20) as customers:
        users = [new_user_id() for _ in range(8)]
        # The same address in two spellings: equal in any case.
        emails = ["Same@Example.org", "same@example.ORG"]
        responses = await asyncio.gather(
            *(customers.put_me(u, profile(email=emails[i % 2])) for i, u in enumerate(users))
        )
        owners = await customers.rows("SELECT user_id FROM customer")

    assert sorted(r.status_code for r in responses) == [201] + [409] * 7
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"email_taken"}
    assert len(owners) == 1


async def test_the_consumer_and_the_user_racing_leave_one_profile(postgres_url: str) -> None:
    async with running(postgres_url, database_pool_size=20) as customers:
        db = customers.app.runtime.db
        user_id = new_user_id()

        async def consume() -> None:
            event = envelope(registered(user_id=user_id, username="racer"))
            async with CustomersUnitOfWork(db) as uow:
                await HANDLERS[event.event_type](uow, event)

        results = await asyncio.gather(
            customers.put_me(user_id, profile(name="Typed by hand")), consume(), consume()
        )
        stored = await customers.rows("SELECT name FROM customer WHERE user_id = :u", u=user_id)
        mine = await customers.client.get(ME, headers=auth(user_id))

    assert results[0].status_code in {200, 201}
    # Whichever came first, the user's own edit is never overwritten by the event.
    assert [r.name for r in stored] == ["Typed by hand"]
    assert mine.json()["name"] == "Typed by hand"


async def test_search_and_json_fields_round_trip_on_postgres(postgres_url: str) -> None:
    async with running(postgres_url) as customers:
        made = await customers.make(
            new_user_id(),
            name="Émile Zola",
            preferences={"thème": "sombre", "b": "", "a": "1"},
            interests=["vélo", "thé"],
        )
        found = await customers.client.get(
            BASE, params={"q": "ÉMILE"}, headers=auth(1, role="admin")
        )

    assert made["preferences"] == {"thème": "sombre", "b": "", "a": "1"}
    assert made["interests"] == ["vélo", "thé"]
    assert found.json() == [made]
    assert found.headers["X-Total-Count"] == "1"
