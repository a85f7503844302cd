"""The customers unit of work in memory: profiles, one per user, emails unique in any case."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shopmesh.customers.domain import (
    Customer,
    EmailTaken,
    Page,
    Profile,
    search_key,
)
from shopmesh.kit.validation import email_key
from tests.fakes import FakeStore, FakeUnitOfWork


class CustomersStore(FakeStore):
    def __init__(self) -> None:
        super().__init__()
        self.customers: dict[int, Customer] = {}  # by id (the owner's user id)


class FakeCustomers:
    """:class:`shopmesh.customers.repository.Customers` in memory."""

    def __init__(self, store: CustomersStore) -> None:
        self._store = store

    async def get(self, customer_id: int, *, lock: bool = False) -> Customer | None:
        return self._store.customers.get(customer_id)

    async def of_user(self, user_id: int, *, lock: bool = False) -> Customer | None:
        found = [c for c in self._store.customers.values() if c.user_id == user_id]
        return found[0] if found else None

    async def email_owner(self, email: str) -> int | None:
        found = [
            c.id
            for c in self._store.customers.values()
            if c.profile.email is not None and email_key(c.profile.email) == email_key(email)
        ]
        return found[0] if found else None

    async def add_if_missing(
        self, user_id: int, profile: Profile, *, now: datetime
    ) -> Customer | None:
        if user_id in self._store.customers:
            return None
        self._check_unique(profile, owner=None)
        customer = Customer(user_id, user_id, profile, now, now)
        self._store.customers[customer.id] = customer
        return customer

    async def save(self, customer_id: int, profile: Profile, *, now: datetime) -> Customer:
        self._check_unique(profile, owner=customer_id)
        saved = replace(self._store.customers[customer_id], profile=profile, updated_at=now)
        self._store.customers[customer_id] = saved
        return saved

    async def remove(self, customer_id: int) -> bool:
        return self._store.customers.pop(customer_id, None) is not None

    async def search(
        self,
        *,
        q: str | None,
        limit: int,
        offset: int,
        user_ids: tuple[int, ...] | None = None,
    ) -> Page:
        found = sorted(self._store.customers.values(), key=lambda c: c.id)
        if q:
            found = [c for c in found if q.casefold() in search_key(c.profile)]
        if user_ids is not None:
            found = [c for c in found if c.user_id in user_ids]
        return Page(items=found[offset : offset + limit], total=len(found))

    def _check_unique(self, profile: Profile, *, owner: int | None) -> None:
        # What the unique index on email_key would refuse.
        if profile.email is None:
            return
        for customer in self._store.customers.values():
            email = customer.profile.email
            if customer.id != owner and email and email_key(email) == email_key(profile.email):
                raise EmailTaken()


class FakeCustomersUnitOfWork(FakeUnitOfWork):
    store: CustomersStore

    def open_repositories(self) -> None:
        self.customers = FakeCustomers(self.store)
