"""The commerce seed's Angular app "goui" (dcs-admin/microservices, go-services/goui/), replayed.

Served at http://localhost:4200 with its four ``baseUrl``s set to the gateway's ``/api``:

- AuthService: ``POST /api/auth/register`` and ``/api/auth/login`` with the environment's
  ``defaultHeaders`` (an expired hard-coded JWT, sent bare); register sends every form field
  as a string (``confirmPassword`` included) and reads ``message``; login sends
  ``{email, password}`` and keeps ``token`` and ``user`` (``user.id``, ``user.name``).
  ``POST /api/forgot-password {email}`` (no extra headers); any 2xx means "sent".
- ProductService: ``GET /api/products`` and ``/api/products/<id>`` with ``Authorization``
  set to the bare token, or to ``""`` before login; the catalogue reads ``name``,
  ``price``, ``images[0]``, ``id``; the detail page ``images``, ``name``, ``description``,
  ``price``, ``specifications`` (``*ngFor``), ``brand``, ``model``, ``origin``,
  ``additional_info``, ``rating``.
- CustomerService: ``GET /api/customers/<user.id>`` with ``Bearer``; the profile shows every
  key's value, then stores the object as the user. ProfileService:
  ``PUT /api//customers/<id>`` (sic) with that whole object, edited in text inputs.
- CartService: ``POST /api/orders`` with ``Bearer`` and a list of
  ``{customer_id, product_id, quantity, per_cost, total_cost, status: "Pending"}``; reads
  ``message``, ``order_count``, ``order_ids``. ``GET /api/orders`` (orders page) reads
  ``product?.name``, ``created_at``, ``quantity``, ``status``, ``total_cost``.
"""

from __future__ import annotations

import email
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.contracts.conftest import Browser, new_address
from tests.platform_fixtures import Platform
from tests.support import wait_for
from tests.system.commerce import add_product

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

ORIGIN = "http://localhost:4200"
# environment.defaultHeaders.Authorization in goui: expired since March 2025, signed elsewhere.
STALE = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VybmFtZSI6InRlc3R1c2VyIiwiZXhwIjoxNzQyMDQzNTc1fQ"
    ".0qa9Jh0c2bQHTeh2tJtRUPFaR80H5ZV2K3xKq-CFw10"
)
PASSWORD = "correct-horse-1"


@pytest.fixture
def page(gateway_http: aiohttp.ClientSession) -> Browser:
    return Browser(gateway_http, ORIGIN, new_address())


def register_form(address: str) -> dict[str, str]:
    return {
        "name": "Ann Lee",
        "email": address,
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


async def registered_and_logged_in(page: Browser) -> tuple[str, str, dict[str, Any]]:
    address = f"ann.{uuid.uuid4().hex[:8]}@example.org"
    await registered(page, register_form(address))

    status, data = await page.call(
        "POST",
        "/api/auth/login",
        headers={"Authorization": STALE},
        json={"email": address, "password": PASSWORD},
    )
    assert status == 200, data
    token, user = data["token"], data["user"]
    assert isinstance(token, str)
    assert token
    assert isinstance(user["id"], int)
    assert (user["name"], user["email"]) == ("Ann Lee", address)
    return address, token, user


async def test_a_refused_registration_says_why_in_message(page: Browser) -> None:
    # The register page shows error.message, else only "Registration failed!".
    address = f"ann.{uuid.uuid4().hex[:8]}@example.org"
    form = register_form(address)
    await registered(page, form)
    status, data = await page.call(
        "POST", "/api/auth/register", headers={"Authorization": STALE}, json=form
    )
    assert status == 409, data
    assert "already" in data["message"]
    form = {**register_form(f"bo.{uuid.uuid4().hex[:8]}@example.org"), "confirmPassword": "x"}
    status, data = await page.call(
        "POST", "/api/auth/register", headers={"Authorization": STALE}, json=form
    )
    assert status == 422, data
    assert "password" in data["message"].lower()


async def registered(page: Browser, form: dict[str, str]) -> None:
    status, data = await page.call(
        "POST", "/api/auth/register", headers={"Authorization": STALE}, json=form
    )
    assert status == 201, data
    assert isinstance(data["message"], str)
    assert data["message"]


async def customer(page: Browser, customer_id: int, token: str) -> dict[str, Any]:
    status, data = await page.call(
        "GET", f"/api/customers/{customer_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 200, data
    return data


@pytest.fixture
async def products(platform: Platform, http: aiohttp.ClientSession, admin_token: str) -> list[int]:
    made = [await add_product(http, admin_token, price=p, stock=20) for p in (24.5, 31)]
    status, _ = await _patch(http, admin_token, made[0]["id"])
    assert status == 200
    return [p["id"] for p in made]


async def _patch(http: aiohttp.ClientSession, admin_token: str, product_id: int) -> Any:
    body = {
        "images": ["https://img.example.com/kettle.jpg"],
        "model": "K-2",
        "origin": "Portugal",
        "specifications": {"Weight": "1.2 kg", "Plug": "EU"},
        "additional_info": "Ships in 2 days",
        "rating": 4.5,
    }
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with http.patch(f"/api/products/{product_id}", json=body, headers=headers) as response:
        return response.status, await response.json()


async def test_the_catalogue_and_the_detail_page(page: Browser, products: list[int]) -> None:
    # Before login the app sends `Authorization: ""`; after it, the bare token.
    status, listed = await page.call("GET", "/api/products", headers={"Authorization": ""})
    assert status == 200, listed
    assert isinstance(listed, list)
    for product in listed:
        assert isinstance(product["id"], int)
        assert isinstance(product["name"], str)
        assert isinstance(product["price"], int | float)
        assert isinstance(product["images"], list)
    _, token, _ = await registered_and_logged_in(page)

    status, product = await page.call(
        "GET", f"/api/products/{products[0]}", headers={"Authorization": token}
    )

    assert status == 200, product
    assert product["images"] == ["https://img.example.com/kettle.jpg"]
    assert product["specifications"] == ["Weight: 1.2 kg", "Plug: EU"]
    assert all(isinstance(line, str) for line in product["specifications"])
    assert (product["brand"], product["model"], product["origin"]) == ("Acme", "K-2", "Portugal")
    assert (product["additional_info"], product["rating"]) == ("Ships in 2 days", 4.5)
    assert isinstance(product["description"], str)
    assert isinstance(product["price"], int | float)


async def test_the_profile_shows_what_was_typed_and_takes_back_its_edits(page: Browser) -> None:
    address, token, user = await registered_and_logged_in(page)
    bearer = {"Authorization": f"Bearer {token}"}

    # The profile is made from user.registered (Kafka): the page may open a moment later.
    shown = await wait_for(
        lambda: _customer_or_none(page, user["id"], token), what="the profile", timeout=30
    )

    assert shown["id"] == user["id"]
    assert (shown["name"], shown["email"], shown["city"], shown["address"]) == (
        "Ann Lee",
        address,
        "Pune",
        "1 Main Street",
    )
    assert (shown["mobile"], shown["location"], shown["sex"]) == (
        "+91 98765 43210",
        "Old town",
        "Female",
    )
    # Every value is rendered with `{{ customer[key] }}`: an object would read "[object Object]".
    assert not [key for key, value in shown.items() if isinstance(value, dict)]
    assert shown["preferences"] == "vegetarian, no calls"
    assert shown["interests"] == ["tea", "books"]

    # The edit form binds the stored object; text inputs turn lists into strings.
    edited = {**shown, "city": "Mumbai", "interests": "tea, books, chess", "preferences": "vegan"}
    edited["sex"] = "Other"
    status, saved = await page.call(
        "PUT", f"/api//customers/{shown['id']}", headers=bearer, json=edited
    )
    assert status == 200, saved
    again = await customer(page, shown["id"], token)
    assert (again["city"], again["interests"], again["preferences"], again["sex"]) == (
        "Mumbai",
        ["tea", "books", "chess"],
        "vegan",
        "Other",
    )
    assert again["email"] == address


async def _customer_or_none(page: Browser, customer_id: int, token: str) -> dict[str, Any] | None:
    status, data = await page.call(
        "GET", f"/api/customers/{customer_id}", headers={"Authorization": f"Bearer {token}"}
    )
    return data if status == 200 else None


async def test_cart_to_order_and_the_orders_page(page: Browser, products: list[int]) -> None:
    _, token, user = await registered_and_logged_in(page)
    bearer = {"Authorization": f"Bearer {token}"}
    cart = [
        {
            "customer_id": user["id"],
            "product_id": product_id,
            "quantity": quantity,
            "per_cost": 1,
            "total_cost": quantity,
            "status": "Pending",
        }
        for product_id, quantity in zip(products, (1, 2), strict=True)
    ]

    status, placed = await page.call("POST", "/api/orders", headers=bearer, json=cart)

    assert status == 201, placed
    assert isinstance(placed["message"], str)
    assert placed["message"]
    assert placed["order_count"] == 2
    assert len(placed["order_ids"]) == 2
    assert all(isinstance(i, int) for i in placed["order_ids"])

    status, orders = await page.call("GET", "/api/orders", headers=bearer)
    assert status == 200, orders
    assert sorted(o["id"] for o in orders) == sorted(placed["order_ids"])
    by_product = {o["product_id"]: o for o in orders}
    assert by_product[products[1]]["total_cost"] == 62  # the platform's price, not the client's
    for order in orders:
        assert isinstance(order["product"]["name"], str)
        assert datetime.fromisoformat(order["created_at"]).tzinfo is not None
        assert isinstance(order["quantity"], int)
        assert isinstance(order["status"], str)
        assert isinstance(order["total_cost"], int | float)


def _mails_to(folder: Path, address: str) -> list[email.message.Message]:
    found = [email.message_from_bytes(p.read_bytes()) for p in folder.glob("*.eml")]
    return [m for m in found if m["To"] == address]


async def test_forgot_password_answers_alike_and_mails_a_working_link(
    page: Browser, platform: Platform
) -> None:
    address, _, _ = await registered_and_logged_in(page)
    mail_dir = Path(platform.env["SHOPMESH_DATA_DIR"]) / "mail"

    known = await page.call("POST", "/api/forgot-password", json={"email": address})
    unknown = await page.call("POST", "/api/forgot-password", json={"email": f"x.{address}"})

    assert known[0] == unknown[0] == 202
    assert known[1] == unknown[1]

    async def mailed() -> list[email.message.Message]:
        return _mails_to(mail_dir, address)

    [message] = await wait_for(mailed, what="the reset mail")
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    token = re.search(r"reset-password\?token=([A-Za-z0-9_-]+)", body.decode())
    assert token
    status, reset = await page.call(
        "POST",
        "/api/auth/reset-password",
        json={"token": token.group(1), "password": "new-pass-123"},
    )
    assert status == 200, reset
    status, _ = await page.call(
        "POST",
        "/api/auth/login",
        headers={"Authorization": STALE},
        json={"email": address, "password": "new-pass-123"},
    )
    assert status == 200
