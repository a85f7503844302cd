"""Customer A can never read or change customer B's profile, nor learn that it exists."""

from __future__ import annotations

from typing import Any

import pytest

from .support import ALICE, BASE, BOB, ME, Customers, auth, profile, running


def _without_request_id(response: Any) -> tuple[int, dict[str, Any]]:
    body = dict(response.json())
    body.pop("request_id")
    return response.status_code, body


async def test_someone_elses_profile_is_not_found_and_stays_unchanged(database_url: str) -> None:
    async with running(database_url) as customers:
        alice = (await customers.put_me(ALICE, profile(name="Alice"))).json()
        bob = (await customers.put_me(BOB, profile(name="Bob"))).json()
        before = await customers.snapshot()
        url, as_bob = f"{BASE}/{alice['id']}", auth(BOB)
        attempts = [
            await customers.client.get(url, headers=as_bob),
            await customers.client.put(url, json=profile(name="Pwned"), headers=as_bob),
            await customers.client.patch(url, json={"name": "Pwned"}, headers=as_bob),
        ]
        # The same answers as for an id nobody has: existence is not revealed.
        missing = f"{BASE}/{alice['id'] + bob['id'] + 1000}"
        unknown = [
            await customers.client.get(missing, headers=as_bob),
            await customers.client.put(missing, json=profile(name="Pwned"), headers=as_bob),
            await customers.client.patch(missing, json={"name": "Pwned"}, headers=as_bob),
        ]
        deleted = await customers.client.delete(url, headers=as_bob)
        after = await customers.snapshot()
        alice_sees = (await customers.me(ALICE)).json()
        bob_sees = (await customers.me(BOB)).json()

    assert [_without_request_id(r) for r in attempts] == [_without_request_id(r) for r in unknown]
    assert [(r.status_code, r.json()["code"]) for r in attempts] == [
        (404, "customer_not_found")
    ] * 3
    assert "Alice" not in "".join(r.text for r in attempts)
    assert deleted.status_code == 403
    assert after == before
    assert alice_sees == alice
    assert bob_sees == bob


async def test_me_is_always_the_callers_own_profile(customers: Customers) -> None:
    await customers.put_me(ALICE, profile(name="Alice"))

    bob_reads = await customers.me(BOB)
    bob_writes = await customers.put_me(BOB, profile(name="Bob"))
    bob_patches = await customers.client.patch(ME, json={"city": "Goa"}, headers=auth(BOB))
    alice = (await customers.me(ALICE)).json()

    assert bob_reads.status_code == 404
    assert (bob_writes.status_code, bob_writes.json()["user_id"]) == (201, BOB)
    assert (bob_patches.status_code, bob_patches.json()["user_id"]) == (200, BOB)
    assert (alice["name"], alice["user_id"], alice["city"]) == ("Alice", ALICE, "Hyderabad")


@pytest.mark.parametrize("role", ["user", "service", "Admin", ""])
async def test_only_the_admin_role_reaches_other_profiles(customers: Customers, role: str) -> None:
    alice = (await customers.put_me(ALICE, profile())).json()

    response = await customers.client.get(f"{BASE}/{alice['id']}", headers=auth(BOB, role=role))
    listing = await customers.client.get(BASE, headers=auth(BOB, role=role))

    assert response.status_code == 404
    assert listing.status_code == 403
