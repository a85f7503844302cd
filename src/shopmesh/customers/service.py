"""Use cases of the customers service: one transaction each.

Ownership is decided here: administrators reach every profile, anybody else
only their own, and someone else's profile is "not found" (never "forbidden"),
so nobody learns which profiles exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shopmesh.customers.domain import (
    EDITABLE_FIELDS,
    Customer,
    CustomerExists,
    CustomerNotFound,
    EmailTaken,
    Page,
    Profile,
    UserIdImmutable,
    UserRegistered,
)
from shopmesh.customers.repository import Customers, CustomersUnitOfWork
from shopmesh.kit.clock import utcnow
from shopmesh.kit.jwt import Principal

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Saved:
    """A profile after an upsert, and whether the upsert created it."""

    customer: Customer
    created: bool


class CustomerService:
    """The customers use cases, each in a unit of work from ``units``."""

    def __init__(self, units: Callable[[], CustomersUnitOfWork]) -> None:
        self._units = units

    async def get_mine(self, user_id: int) -> Customer:
        """The caller's own profile."""
        async with self._units() as uow:
            found = await uow.customers.of_user(user_id)
        if found is None:
            raise CustomerNotFound()
        return found

    async def put_mine(self, user_id: int, profile: Profile) -> Saved:
        """Replace the caller's profile with ``profile``, creating it if missing."""
        profile.check_editable()
        async with self._units() as uow:
            customers = uow.customers
            existing = await customers.of_user(user_id, lock=True)
            if existing is None:
                await _check_email_free(customers, profile, owner=None)
                created = await customers.add_if_missing(user_id, profile, now=utcnow())
                if created is not None:
                    return Saved(created, created=True)
                # Created a moment ago by a concurrent request or the user.registered consumer.
                existing = await customers.of_user(user_id, lock=True)
                if existing is None:
                    raise CustomerNotFound()
            return Saved(await _save(customers, existing, profile), created=False)

    async def patch_mine(self, user_id: int, changes: Mapping[str, Any]) -> Customer:
        """Change the given fields of the caller's profile."""
        async with self._units() as uow:
            existing = await uow.customers.of_user(user_id, lock=True)
            if existing is None:
                raise CustomerNotFound()
            return await _save(uow.customers, existing, _patched(existing, changes))

    async def create(self, user_id: int, profile: Profile) -> Customer:
        """Create a user's profile (administrators); one per user."""
        profile.check_editable()
        async with self._units() as uow:
            await _check_email_free(uow.customers, profile, owner=None)
            created = await uow.customers.add_if_missing(user_id, profile, now=utcnow())
        if created is None:
            raise CustomerExists()
        log.info("customer created", extra={"customer_id": created.id, "owner": user_id})
        return created

    async def search(
        self, *, q: str | None, limit: int, offset: int, user_ids: tuple[int, ...] | None = None
    ) -> Page:
        """A page of customers by id, optionally only those matching ``q`` and of ``user_ids``."""
        async with self._units() as uow:
            return await uow.customers.search(q=q, user_ids=user_ids, limit=limit, offset=offset)

    async def get(self, customer_id: int, *, caller: Principal) -> Customer:
        """A profile the caller may see."""
        async with self._units() as uow:
            return _visible(await uow.customers.get(customer_id), caller)

    async def patch(
        self,
        customer_id: int,
        changes: Mapping[str, Any],
        *,
        caller: Principal,
        claimed_user_id: int | None = None,
    ) -> Customer:
        """Change the given fields of a profile the caller may change."""
        async with self._units() as uow:
            existing = _visible(await uow.customers.get(customer_id, lock=True), caller)
            _check_owner_unchanged(existing, claimed_user_id)
            return await _save(uow.customers, existing, _patched(existing, changes))

    async def delete(self, customer_id: int) -> None:
        """Delete a profile (administrators)."""
        async with self._units() as uow:
            if not await uow.customers.remove(customer_id):
                raise CustomerNotFound()
        log.info("customer deleted", extra={"customer_id": customer_id})


async def create_profile_for_new_user(uow: CustomersUnitOfWork, event: UserRegistered) -> bool:
    """``user.registered``: the user's starting profile, unless they have one (then nothing).

    Runs in the consumer's unit of work. Insert-if-missing keyed by user id, so a
    replay under a new event id creates nothing and never touches an edited profile.
    Values customers refuses, and an email another customer already uses, are left out.
    """
    profile = event.profile()
    refused = event.refused_fields()
    customers = uow.customers
    if profile.email is not None and await customers.email_owner(profile.email) is not None:
        profile, refused = profile.changed({"email": None}), [*refused, "email"]
    if refused:
        log.warning("profile fields left out", extra={"user_id": event.user_id, "fields": refused})
    created = await customers.add_if_missing(event.user_id, profile, now=utcnow())
    if created is not None:
        log.info("customer created for new user", extra={"customer_id": created.id})
    return created is not None


def _visible(found: Customer | None, caller: Principal) -> Customer:
    if found is None or not found.visible_to(caller.user_id, is_admin=caller.is_admin):
        raise CustomerNotFound()
    return found


def _check_owner_unchanged(existing: Customer, claimed_user_id: int | None) -> None:
    # A client may send back the user_id it read; a different one is refused, never obeyed.
    if claimed_user_id is not None and claimed_user_id != existing.user_id:
        raise UserIdImmutable()


def _patched(existing: Customer, changes: Mapping[str, Any]) -> Profile:
    profile = existing.profile.changed({k: v for k, v in changes.items() if k in EDITABLE_FIELDS})
    profile.check_editable()
    return profile


async def _save(customers: Customers, existing: Customer, profile: Profile) -> Customer:
    await _check_email_free(customers, profile, owner=existing.id)
    return await customers.save(existing.id, profile, now=utcnow())


async def _check_email_free(customers: Customers, profile: Profile, *, owner: int | None) -> None:
    """Refuse an email another customer uses (the unique index catches concurrent ones)."""
    if profile.email is None:
        return
    holder = await customers.email_owner(profile.email)
    if holder is not None and holder != owner:
        raise EmailTaken()
