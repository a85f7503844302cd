"""The user.registered handler on SQLite, called as the consumer calls it (no Kafka)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from pydantic import ValidationError
from sqlalchemy import text

from shopmesh.auth.domain import NewProfile, User
from shopmesh.auth.domain import UserRegistered as AuthUserRegistered
from shopmesh.customers.consumers import HANDLERS
from shopmesh.customers.domain import UserRegistered
from shopmesh.customers.repository import CustomersUnitOfWork
from shopmesh.kit.db import Database
from tests.support import migrated_database

from .support import envelope, new_user_id, registered

MIGRATIONS = "shopmesh.customers:migrations"


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    async with migrated_database(sqlite_url, MIGRATIONS) as database:
        yield database


async def apply(db: Database, *payloads: dict[str, Any]) -> None:
    """Apply each payload in its own transaction, as the consumer's handlers run."""
    for payload in payloads:
        event = envelope(payload)
        async with CustomersUnitOfWork(db) as uow:
            await HANDLERS[event.event_type](uow, event)


async def rows(db: Database) -> list[Any]:
    async with db.engine.connect() as connection:
        result = await connection.execute(text("SELECT * FROM customer ORDER BY id"))
        return list(result.all())


async def test_a_new_user_gets_a_profile_named_after_them_without_email(db: Database) -> None:
    user_id = new_user_id()

    await apply(db, registered(user_id=user_id, username="Alice_99"))

    [row] = await rows(db)
    assert (row.user_id, row.name, row.email, row.email_key) == (user_id, "Alice_99", None, None)
    assert (row.address, row.city, row.mobile, row.location) == (None, None, None, None)
    assert (orjson.loads(row.preferences), orjson.loads(row.interests)) == ({}, [])


async def test_the_same_event_applied_again_changes_nothing(db: Database) -> None:
    event = registered(user_id=new_user_id(), username="alice")
    await apply(db, event)
    first = await rows(db)

    await apply(db, event)

    assert await rows(db) == first


async def test_a_replay_under_a_new_event_id_creates_nothing(db: Database) -> None:
    user_id = new_user_id()
    await apply(db, registered(user_id=user_id, username="alice"))
    first = await rows(db)

    await apply(db, registered(user_id=user_id, username="someone-else"))

    assert await rows(db) == first


async def test_an_existing_profile_is_left_untouched(db: Database) -> None:
    user_id = new_user_id()
    async with db.engine.begin() as session:
        await session.execute(
            text(
                "INSERT INTO customer (id, user_id, name, email, email_key, city, preferences,"
                " interests, search_key, created_at, updated_at) VALUES (:u, :u, 'Edited',"
                " 'e@x.org', 'e@x.org', 'Pune', '{}', '[\"tea\"]', 'edited', '2025-01-01 00:00:00',"
                " '2025-01-01 00:00:00')"
            ),
            {"u": user_id},
        )
    before = await rows(db)

    await apply(db, registered(user_id=user_id, username="edited"))

    assert await rows(db) == before


async def test_each_new_user_gets_their_own_profile(db: Database) -> None:
    users = [new_user_id() for _ in range(3)]

    await apply(db, *(registered(user_id=u, username=f"user{i}") for i, u in enumerate(users)))

    assert sorted((r.user_id, r.name) for r in await rows(db)) == sorted(
        (u, f"user{i}") for i, u in enumerate(users)
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"user_id": None},
        {"user_id": "42"},
        {"user_id": 0},
        {"user_id": -3},
        {"user_id": 1.5},
        {"user_id": True},
        {"user_id": 2**63},
        {"username": None},
        {"username": ""},
        {"username": "   "},
        {"username": 12345},
        {"username": "x" * 101},
        {"username": "bad\x00name"},
    ],
    ids=repr,
)
async def test_an_invalid_event_raises_and_writes_nothing(
    db: Database, overrides: dict[str, Any]
) -> None:
    # Raising makes the consumer retry it, then dead-letter it.
    with pytest.raises(ValidationError):
        await apply(db, {**registered(user_id=new_user_id()), **overrides})

    assert await rows(db) == []


async def test_fields_customers_does_not_read_may_change_or_go(db: Database) -> None:
    payload = registered(user_id=new_user_id(), username="ann", role="admin", extra={"a": 1})
    del payload["registered_at"]

    await apply(db, payload)

    assert [r.name for r in await rows(db)] == ["ann"]


def test_customers_reads_user_registered_as_auth_sends_it() -> None:
    moment = datetime.now(UTC)
    sent = AuthUserRegistered.of(User(id=77, username="alice", role="user", created_at=moment))

    read = UserRegistered.model_validate(orjson.loads(sent.to_bytes()))

    assert (read.user_id, read.username) == (77, "alice")
    assert (read.profile().name, read.profile().email) == ("alice", None)


PROFILE_FIELDS = {
    "email": "Ann.Lee@Example.org",
    "name": "Ann Lee",
    "address": "1 Main Street",
    "city": "Pune",
    "mobile": "+91 98765 43210",
    "location": "Old town",
    "sex": "Female",
    "preferences": "vegetarian, no calls",
    "interests": ["tea", "books"],
}


async def test_the_profile_holds_what_the_person_typed_and_takes_their_user_id(
    db: Database,
) -> None:
    user_id = new_user_id()

    await apply(db, registered(user_id=user_id, username="ann.lee", **PROFILE_FIELDS))

    [row] = await rows(db)
    assert row.id == row.user_id == user_id
    assert (row.name, row.email, row.email_key) == (
        "Ann Lee",
        "Ann.Lee@Example.org",
        "ann.lee@example.org",
    )
    assert (row.address, row.city, row.mobile, row.location, row.sex) == (
        "1 Main Street",
        "Pune",
        "+91 98765 43210",
        "Old town",
        "Female",
    )
    assert orjson.loads(row.preferences) == "vegetarian, no calls"
    assert orjson.loads(row.interests) == ["tea", "books"]


async def test_a_value_customers_refuses_is_left_out_and_the_rest_applies(db: Database) -> None:
    fields = {**PROFILE_FIELDS, "mobile": "call me", "city": "x" * 101, "interests": [""]}

    await apply(db, registered(user_id=new_user_id(), username="ann", **fields))

    [row] = await rows(db)
    assert (row.name, row.mobile, row.city) == ("Ann Lee", None, None)
    assert orjson.loads(row.interests) == []


async def test_an_email_another_customer_uses_is_left_out(db: Database) -> None:
    first, second = new_user_id(), new_user_id()
    await apply(db, registered(user_id=first, username="ann", **PROFILE_FIELDS))

    await apply(db, registered(user_id=second, username="ann2", **PROFILE_FIELDS))

    by_user = {r.user_id: r for r in await rows(db)}
    assert by_user[first].email == "Ann.Lee@Example.org"
    assert (by_user[second].email, by_user[second].name) == (None, "Ann Lee")


def test_customers_reads_the_profile_fields_auth_sends() -> None:
    moment = datetime.now(UTC)
    user = User(id=78, username="ann", role="user", created_at=moment, email="ann@example.org")
    typed = NewProfile(name="Ann", city="Pune", preferences={"tea": "green"}, interests=["x"])
    sent = AuthUserRegistered.of(user, typed)

    profile = UserRegistered.model_validate(orjson.loads(sent.to_bytes())).profile()

    assert (profile.name, profile.email, profile.city) == ("Ann", "ann@example.org", "Pune")
    assert (profile.preferences, profile.interests) == ({"tea": "green"}, ["x"])
