"""Email as an identity: register with an email (and the commerce seed's profile fields),
log in by email or username, one account per address in any case."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from shopmesh.auth.domain import USERNAME_PATTERN, username_from_email
from shopmesh.auth.repository import UserAccount

from .support import PASSWORD, Auth

# What the commerce seed's app sends from its register form: every field a string.
GOUI_FORM = {
    "name": "Ann Lee",
    "password": PASSWORD,
    "confirmPassword": PASSWORD,
    "address": "1 Main Street",
    "preferences": "vegetarian, no calls",
    "location": "Old town",
    "sex": "Female",
    "city": "Pune",
    "interests": "tea, books",
    "mobile": "+91 98765 43210",
}


def goui_form(email: str, **overrides: Any) -> dict[str, Any]:
    return {**GOUI_FORM, "email": email, **overrides}


async def register(auth: Auth, body: dict[str, Any]) -> Any:
    return await auth.client.post("/api/auth/register", json=body)


async def login(auth: Auth, body: dict[str, Any]) -> Any:
    return await auth.client.post("/api/auth/login", json=body)


async def test_register_with_the_seed_apps_form_answers_a_user_and_a_message(
    auth: Auth, unique: Any
) -> None:
    email = f"{unique('ann.')}@example.org"

    response = await register(auth, goui_form(email))

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["message"] == "User registered successfully"
    assert body["user"] == {
        "id": body["id"],
        "username": body["username"],
        "name": "Ann Lee",
        "email": email,
        "role": "user",
    }
    assert body["username"] == email.partition("@")[0]


async def test_the_profile_fields_travel_in_user_registered(auth: Auth, unique: Any) -> None:
    email = f"{unique('ann.')}@example.org"
    body = (await register(auth, goui_form(email))).json()

    [(_, payload)] = [e for e in await auth.user_events() if e[1]["user_id"] == body["id"]]

    assert payload["email"] == email
    assert payload["name"] == "Ann Lee"
    assert payload["address"] == "1 Main Street"
    assert payload["city"] == "Pune"
    assert payload["mobile"] == "+91 98765 43210"
    assert payload["location"] == "Old town"
    assert payload["sex"] == "Female"
    assert payload["preferences"] == "vegetarian, no calls"
    assert payload["interests"] == ["tea", "books"]


async def test_our_clients_types_are_accepted_too(auth: Auth, unique: Any) -> None:
    email = f"{unique('bo.')}@example.org"
    form = goui_form(email, preferences={"newsletter": "weekly"}, interests=["tea", "tea", "chess"])
    body = (await register(auth, form)).json()

    [(_, payload)] = [e for e in await auth.user_events() if e[1]["user_id"] == body["id"]]
    assert payload["preferences"] == {"newsletter": "weekly"}
    assert payload["interests"] == ["tea", "chess"]


async def test_blank_optional_fields_are_left_out(auth: Auth, unique: Any) -> None:
    blank = {key: "" for key in GOUI_FORM if key not in {"password", "confirmPassword"}}
    email = f"{unique('cy.')}@example.org"
    body = (await register(auth, goui_form(email, **blank))).json()

    [(_, payload)] = [e for e in await auth.user_events() if e[1]["user_id"] == body["id"]]
    assert body["user"]["name"] == body["username"]
    assert [payload[k] for k in ("name", "address", "city", "mobile", "sex")] == [None] * 5
    assert payload["interests"] == []


async def test_login_by_email_or_username_in_any_case(auth: Auth, unique: Any) -> None:
    email = f"{unique('Dee.')}@Example.org"
    registered = (await register(auth, goui_form(email))).json()

    for login_body in (
        {"email": email.upper(), "password": PASSWORD},
        {"email": email.lower(), "password": PASSWORD},
        {"username": registered["username"].upper(), "password": PASSWORD},
    ):
        response = await login(auth, login_body)
        assert response.status_code == 200, (login_body, response.text)
        assert response.json()["id"] == registered["id"]
        assert response.json()["user"]["email"] == email
        assert response.json()["message"] == "Login successful"


async def test_unknown_email_and_wrong_password_get_the_same_401(auth: Auth, unique: Any) -> None:
    email = f"{unique('eve.')}@example.org"
    await register(auth, goui_form(email))

    unknown = await login(auth, {"email": f"x{email}", "password": PASSWORD})
    wrong = await login(auth, {"email": email, "password": "not-the-password"})

    assert unknown.status_code == wrong.status_code == 401
    assert {k: v for k, v in unknown.json().items() if k != "request_id"} == {
        k: v for k, v in wrong.json().items() if k != "request_id"
    }


async def test_an_email_is_one_account_in_any_case(auth: Auth, unique: Any) -> None:
    email = f"{unique('fay.')}@example.org"
    assert (await register(auth, goui_form(email))).status_code == 201
    before = await auth.counts()

    again = await register(auth, goui_form(email.upper(), name="Someone else"))

    assert again.status_code == 409
    assert again.json()["code"] == "email_taken"
    assert await auth.counts() == before


async def test_people_whose_addresses_start_alike_get_distinct_usernames(
    auth: Auth, unique: Any
) -> None:
    local = unique("gil.")
    names = set()
    for domain in ("a.org", "b.org", "c.org"):
        response = await register(auth, goui_form(f"{local}@{domain}"))
        assert response.status_code == 201, response.text
        names.add(response.json()["username"])

    assert len(names) == 3
    assert local in names


async def test_a_username_taken_in_any_case_is_not_reused_for_an_email(
    auth: Auth, unique: Any
) -> None:
    taken = unique("Hal_")
    await auth.register(taken)

    response = await register(auth, goui_form(f"{taken.lower()}@example.org"))

    assert response.status_code == 201
    assert response.json()["username"].lower() != taken.lower()


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("ann.lee@example.org", "ann.lee"),
        ("a@example.org", "a_user"),
        ("o'brien+shop@example.org", "obrienshop"),
        ("...@example.org", "user"),
        ("x" * 64 + "@example.org", "x" * 50),
    ],
)
def test_a_username_made_from_an_email_is_a_valid_username(email: str, expected: str) -> None:
    made = username_from_email(email)
    assert made == expected
    assert re.match(USERNAME_PATTERN, made)
    assert 3 <= len(made) <= 50
    suffixed = username_from_email(email, suffix="4f2a9c")
    assert suffixed.endswith("-4f2a9c")
    assert len(suffixed) <= 50


BAD_REGISTRATIONS: list[tuple[str, dict[str, Any]]] = [
    ("neither username nor email", {"password": PASSWORD}),
    ("passwords differ", goui_form("ivy@example.org", confirmPassword="other-password")),
    ("passwords differ (snake case)", goui_form("ivy@example.org", confirm_password="x" * 8)),
    ("email not an address", goui_form("ivy.example.org")),
    ("mobile not a phone number", goui_form("ivy@example.org", mobile="call me")),
    ("name too long", goui_form("ivy@example.org", name="x" * 101)),
    ("address with NUL", goui_form("ivy@example.org", address="a\x00b")),
    ("interests not text or list", goui_form("ivy@example.org", interests=7)),
    ("preferences not text or object", goui_form("ivy@example.org", preferences=[1])),
    ("too many interests", goui_form("ivy@example.org", interests=[f"i{n}" for n in range(21)])),
]


@pytest.mark.parametrize(("case", "body"), BAD_REGISTRATIONS, ids=[c for c, _ in BAD_REGISTRATIONS])
async def test_a_bad_registration_is_422_and_creates_nothing(
    auth: Auth, case: str, body: dict[str, Any]
) -> None:
    before = await auth.counts()

    response = await register(auth, body)

    assert response.status_code == 422, (case, response.text)
    assert response.json()["code"] == "validation_error"
    assert await auth.counts() == before


async def test_the_email_is_stored_with_its_case_and_compared_without(
    auth: Auth, unique: Any
) -> None:
    email = f"{unique('Jo.')}@Example.ORG"
    body = (await register(auth, goui_form(email))).json()

    row = (await auth.rows(select(UserAccount).where(UserAccount.id == body["id"])))[0]
    assert (row.email, row.email_key) == (email, email.lower())
