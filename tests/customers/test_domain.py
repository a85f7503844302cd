"""The profile rules on their own (pure, no I/O): what is accepted, and how it is normalised."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from shopmesh.customers.domain import (
    Customer,
    Email,
    EmailRequired,
    Mobile,
    Profile,
    search_key,
)
from shopmesh.kit.validation import email_key

EMAIL: TypeAdapter[str] = TypeAdapter(Email)
MOBILE: TypeAdapter[str] = TypeAdapter(Mobile)


@pytest.mark.parametrize(
    "email",
    [
        "ann@example.org",
        "Ann.Lee@Example.ORG",
        "o'brien+shop@mail.example.co.uk",
        "x@a-b.io",
        "1@2.3",
        "a" * 64 + "@example.org",
    ],
)
def test_plausible_emails_are_accepted_as_typed(email: str) -> None:
    assert EMAIL.validate_python(f"  {email} ") == email


@pytest.mark.parametrize("email", ["ann@example", "ann@exa_mple.org", ".ann@example.org"])
def test_implausible_emails_are_refused(email: str) -> None:
    with pytest.raises(ValidationError):
        EMAIL.validate_python(email)


@pytest.mark.parametrize(
    "mobile", ["12345", "+44 (20) 7946-0958", "555-0100", "+1 555 0100", "1" * 20]
)
def test_phone_numbers_are_accepted(mobile: str) -> None:
    assert MOBILE.validate_python(mobile) == mobile


@pytest.mark.parametrize("mobile", ["+1-2-3", "12 34", "phone", "12345x"])
def test_text_that_is_not_a_phone_number_is_refused(mobile: str) -> None:
    with pytest.raises(ValidationError):
        MOBILE.validate_python(mobile)


def test_emails_compare_in_any_case() -> None:
    assert email_key("Ann@Example.ORG") == email_key("ann@example.org")


def test_the_search_key_folds_case_and_keeps_fields_apart() -> None:
    key = search_key(Profile(name="Émile", email="E@X.org", city="Straße"))

    assert key == "émile\ne@x.org\nstrasse"
    assert search_key(Profile(name="Bo", email=None)) == "bo"


def test_a_profile_without_email_is_not_editable() -> None:
    Profile(name="Ann", email="ann@example.org").check_editable()
    with pytest.raises(EmailRequired):
        Profile(name="Ann", email=None).check_editable()


def test_a_partial_change_keeps_the_other_fields() -> None:
    before = Profile(name="Ann", email="a@b.co", city="Pune", interests=["tea"])

    after = before.changed({"city": None, "name": "Anna"})

    assert after == Profile(name="Anna", email="a@b.co", city=None, interests=["tea"])


def test_administrators_see_every_profile_others_only_their_own() -> None:
    now = datetime.now(UTC)
    customer = Customer(id=1, user_id=7, profile=Profile("A", None), created_at=now, updated_at=now)

    assert customer.visible_to(7, is_admin=False)
    assert not customer.visible_to(8, is_admin=False)
    assert customer.visible_to(8, is_admin=True)
