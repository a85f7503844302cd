"""The customers use cases on a unit of work in memory: one profile per user, emails unique in
any case, who may see and change which profile, and the profile a new user starts with."""

from __future__ import annotations

import pytest

from shopmesh.customers.domain import (
    CustomerExists,
    CustomerNotFound,
    EmailRequired,
    EmailTaken,
    Profile,
    UserIdImmutable,
    UserRegistered,
)
from shopmesh.customers.repository import Customers
from shopmesh.customers.service import CustomerService, create_profile_for_new_user
from shopmesh.kit.jwt import Principal
from tests.fakes import assert_same_interface, units_of

from .fakes import CustomersStore, FakeCustomers, FakeCustomersUnitOfWork

ALICE, BOB = 101, 202
ADMIN = Principal(1, "admin", "admin")


def caller(user_id: int) -> Principal:
    return Principal(user_id, f"user{user_id}")


def ann(**changes: object) -> Profile:
    return Profile(name="Ann Lee", email="ann@example.org", city="Pune").changed(changes)


@pytest.fixture
def store() -> CustomersStore:
    return CustomersStore()


@pytest.fixture
def customers(store: CustomersStore) -> CustomerService:
    return CustomerService(units_of(FakeCustomersUnitOfWork, store))


def test_the_fake_keeps_the_repositorys_interface() -> None:
    assert_same_interface(FakeCustomers, Customers)


async def test_put_mine_creates_then_replaces_the_callers_profile(
    customers: CustomerService,
) -> None:
    created = await customers.put_mine(ALICE, ann())
    assert created.created
    replaced = await customers.put_mine(ALICE, ann(name="Ann L.", city=None))
    assert not replaced.created
    assert replaced.customer.id == created.customer.id
    assert (replaced.customer.profile.name, replaced.customer.profile.city) == ("Ann L.", None)
    assert await customers.get_mine(ALICE) == replaced.customer


async def test_patch_mine_changes_only_the_given_editable_fields(
    customers: CustomerService,
) -> None:
    await customers.put_mine(ALICE, ann(preferences={"newsletter": "weekly"}))
    patched = await customers.patch_mine(ALICE, {"city": "Hyderabad", "id": 9, "user_id": 5})
    assert (patched.profile.city, patched.profile.name) == ("Hyderabad", "Ann Lee")
    assert (patched.user_id, patched.profile.preferences) == (ALICE, {"newsletter": "weekly"})
    with pytest.raises(CustomerNotFound):
        await customers.patch_mine(BOB, {"city": "Pune"})
    with pytest.raises(CustomerNotFound):
        await customers.get_mine(BOB)


async def test_an_email_is_one_customers_in_any_case(customers: CustomerService) -> None:
    await customers.put_mine(ALICE, ann(email="Ann@Example.org"))
    with pytest.raises(EmailTaken):
        await customers.put_mine(BOB, ann(email="ann@example.ORG"))
    with pytest.raises(EmailTaken):
        await customers.create(BOB, ann(email="ANN@example.org"))
    await customers.put_mine(ALICE, ann(email="ann@example.org"))  # its own, in another case
    with pytest.raises(CustomerNotFound):
        await customers.get_mine(BOB)


async def test_an_edited_profile_needs_an_email(customers: CustomerService) -> None:
    with pytest.raises(EmailRequired):
        await customers.put_mine(ALICE, ann(email=None))
    await customers.put_mine(ALICE, ann())
    with pytest.raises(EmailRequired):
        await customers.patch_mine(ALICE, {"email": None})


async def test_a_new_user_starts_with_their_username_as_name_once(
    customers: CustomerService, store: CustomersStore
) -> None:
    async with FakeCustomersUnitOfWork(store) as uow:
        assert await create_profile_for_new_user(uow, UserRegistered(user_id=ALICE, username="ann"))
    profile = (await customers.get_mine(ALICE)).profile
    assert (profile.name, profile.email) == ("ann", None)
    await customers.patch_mine(ALICE, {"email": "ann@example.org"})
    async with FakeCustomersUnitOfWork(store) as uow:
        replay = UserRegistered(user_id=ALICE, username="someone-else")
        assert not await create_profile_for_new_user(uow, replay)
    assert (await customers.get_mine(ALICE)).profile.name == "ann"


async def test_a_new_users_typed_profile_is_taken_without_what_customers_refuses(
    customers: CustomerService, store: CustomersStore
) -> None:
    await customers.put_mine(BOB, ann(email="taken@example.org"))
    registered = UserRegistered(
        user_id=ALICE,
        username="ann",
        email="TAKEN@example.org",
        name="Ann Lee",
        city="Pune",
        mobile="not a phone",
        interests=["tea"],
    )
    async with FakeCustomersUnitOfWork(store) as uow:
        assert await create_profile_for_new_user(uow, registered)
    created = await customers.get_mine(ALICE)
    assert created.id == ALICE  # a profile's id is its owner's user id
    profile = created.profile
    assert (profile.name, profile.city, profile.interests) == ("Ann Lee", "Pune", ["tea"])
    assert (profile.email, profile.mobile) == (None, None)


async def test_put_mine_after_the_consumer_made_the_profile_replaces_it(
    customers: CustomerService, store: CustomersStore
) -> None:
    async with FakeCustomersUnitOfWork(store) as uow:
        await create_profile_for_new_user(uow, UserRegistered(user_id=ALICE, username="ann"))
    saved = await customers.put_mine(ALICE, ann())
    assert not saved.created
    assert saved.customer.profile == ann()


async def test_administrators_create_one_profile_per_user(customers: CustomerService) -> None:
    created = await customers.create(ALICE, ann())
    with pytest.raises(CustomerExists):
        await customers.create(ALICE, ann(email="other@example.org"))
    assert await customers.get(created.id, caller=ADMIN) == created


async def test_someone_elses_profile_is_not_found_unless_you_are_an_administrator(
    customers: CustomerService,
) -> None:
    mine = (await customers.put_mine(ALICE, ann())).customer
    assert await customers.get(mine.id, caller=caller(ALICE)) == mine
    with pytest.raises(CustomerNotFound):
        await customers.get(mine.id, caller=caller(BOB))
    with pytest.raises(CustomerNotFound):
        await customers.patch(mine.id, {"city": "Goa"}, caller=caller(BOB))
    patched = await customers.patch(mine.id, {"city": "Goa"}, caller=ADMIN)
    assert patched.profile.city == "Goa"


async def test_a_profiles_owner_cannot_be_changed(customers: CustomerService) -> None:
    mine = (await customers.put_mine(ALICE, ann())).customer
    with pytest.raises(UserIdImmutable):
        await customers.patch(mine.id, {"city": "Goa"}, caller=ADMIN, claimed_user_id=BOB)
    same = await customers.patch(mine.id, {"city": "Goa"}, caller=ADMIN, claimed_user_id=ALICE)
    assert same.user_id == ALICE


async def test_search_pages_by_id_and_matches_name_email_or_city_in_any_case(
    customers: CustomerService,
) -> None:
    await customers.create(ALICE, ann())
    await customers.create(BOB, Profile(name="Bob", email="bob@example.org", city="Delhi"))
    await customers.create(303, Profile(name="Cy", email="cy@example.org", city="PUNE"))
    page = await customers.search(q="pune", limit=10, offset=0)
    assert ([c.user_id for c in page.items], page.total) == ([ALICE, 303], 2)
    second = await customers.search(q=None, limit=1, offset=1)
    assert ([c.user_id for c in second.items], second.total) == ([BOB], 3)
    named = await customers.search(q="pune", user_ids=(303, BOB, 404), limit=10, offset=0)
    assert ([c.user_id for c in named.items], named.total) == ([303], 1)


async def test_deleting_a_profile_frees_the_user_and_the_email(customers: CustomerService) -> None:
    created = await customers.create(ALICE, ann())
    await customers.delete(created.id)
    with pytest.raises(CustomerNotFound):
        await customers.delete(created.id)
    assert (await customers.create(BOB, ann())).user_id == BOB
