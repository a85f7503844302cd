"""Every page state, for a visitor, a shopper and an administrator, on a desktop and a phone.

Each state is checked the same way (support.Audit): it fits 360 px with no
sideways scrolling, axe-core finds nothing critical, serious or moderate, and
the way there logged no console error and made no request that failed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from playwright.async_api import Browser, Page

from tests.platform_fixtures import Platform
from tests.support import wait_for
from tests.system.test_payments_flow import call
from tests.system.ui.support import (
    DESKTOP,
    PASSWORD,
    PHONE,
    UI,
    Audit,
    Device,
    Watch,
    add_product,
    expect,
    login,
    new_context,
    sign_in,
)

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

LOADING = re.compile("Loading|Restoring")


async def settle(page: Page) -> None:
    """Wait until nothing on the page is loading any more."""
    await expect(page.get_by_role("status").filter(has_text=LOADING)).to_have_count(0)
    await expect(page.locator("[aria-busy=true]")).to_have_count(0)


async def visit(page: Page, ui: UI, path: str, heading: str | re.Pattern[str]) -> None:
    await page.goto(f"{ui.web}{path}")
    await expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
    await settle(page)


@pytest.fixture(params=[DESKTOP, PHONE], ids=lambda device: device.name)
async def audited(
    request: pytest.FixtureRequest, browser: Browser
) -> AsyncIterator[tuple[Page, Audit]]:
    device: Device = request.param
    context = await new_context(browser, device)
    watch = Watch()
    page = await context.new_page()
    watch.attach(page)
    audit = Audit(device, watch)
    try:
        yield page, audit
    finally:
        await context.close()


@pytest.fixture
async def product(api: aiohttp.ClientSession, admin_token: str) -> dict[str, object]:
    """A product whose picture is linked from elsewhere: the closed test network fails it,
    the page shows its tile instead, and that failure is not the page's (Watch)."""
    return await add_product(
        api,
        admin_token,
        name=f"Oak board {uuid.uuid4().hex[:6]}",
        stock=4,
        images=["https://img.example.com/oak-board.jpg"],
    )


async def test_a_visitor(audited: tuple[Page, Audit], ui: UI, product: dict[str, object]) -> None:
    page, audit = audited
    await visit(page, ui, "/", "Find something you")
    await audit.check(page, "shop")
    if audit.device.mobile:
        await page.get_by_role("button", name="Menu").click()
        await expect(page.get_by_role("link", name="Payments", exact=True)).to_be_visible()
        await audit.check(page, "menu-open")
        await page.keyboard.press("Escape")
    await visit(page, ui, "/cart", "Your cart")
    await audit.check(page, "cart-empty")
    await visit(page, ui, f"/products/{product['id']}", str(product["name"]))
    await audit.check(page, "product")
    await page.get_by_role("button", name="Add to cart").click()
    await page.get_by_role("link", name="Cart, 1 item").click()
    await expect(page.get_by_test_id("cart-line")).to_contain_text(str(product["name"]))
    await settle(page)
    await audit.check(page, "cart")
    await visit(page, ui, "/signin", "Sign in to ShopMesh")
    await audit.check(page, "signin")
    await page.get_by_role("tab", name="Create account").click()
    await audit.check(page, "register")
    await visit(page, ui, "/forgot-password", "Forgot your password?")
    await audit.check(page, "forgot-password")
    await page.get_by_label("Email").fill(f"nobody.{uuid.uuid4().hex[:8]}@example.org")
    await page.get_by_role("button", name="Send the link").click()
    await expect(page.get_by_role("status").filter(has_text="reset link")).to_be_visible()
    await audit.check(page, "forgot-password-sent")
    await visit(page, ui, "/reset-password", "Choose a new password")
    await audit.check(page, "reset-password-no-link")
    await visit(page, ui, "/reset-password?token=made-up", "Choose a new password")
    for label in ("New password", "New password, again"):
        await page.get_by_label(label, exact=True).fill("new-password-2")
    await page.get_by_role("button", name="Set the new password").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await audit.check(page, "reset-password-refused", requests_may_fail=True)  # the 400
    await visit(page, ui, "/analytics", "Analytics")
    await expect(page.get_by_test_id("tile-transactions")).to_be_visible()
    await audit.check(page, "analytics")
    await visit(page, ui, "/orders", "Sign in to see your orders")
    await audit.check(page, "orders-gate")
    await visit(page, ui, "/no-such-page", "Page not found")
    await audit.check(page, "not-found")
    await visit(page, ui, "/products/987654321", "This product is not in the shop")
    await audit.check(page, "product-not-found", requests_may_fail=True)  # the product's 404
    audit.assert_clean()


async def _shopper(api: aiohttp.ClientSession) -> str:
    """A new account whose profile exists already (customers creates it from the event)."""
    username = f"day_{uuid.uuid4().hex[:10]}"
    status, body = await call(
        api, "POST", "/auth/register", json={"username": username, "password": PASSWORD}
    )
    assert status == 201, body
    await wait_for(
        lambda: call(api, "GET", "/api/customers/me", body["token"]),
        until=lambda answer: answer[0] == 200,
        what="the new account's profile",
    )
    return username


async def test_a_shopper(
    audited: tuple[Page, Audit], ui: UI, api: aiohttp.ClientSession, product: dict[str, object]
) -> None:
    page, audit = audited
    username = await _shopper(api)
    await sign_in(page, ui, username, PASSWORD)
    await settle(page)
    await audit.check(page, "shop-signed-in")
    await visit(page, ui, f"/products/{product['id']}", str(product["name"]))
    await page.get_by_role("button", name="Add to cart").click()
    await page.get_by_role("link", name="Cart, 1 item").click()
    await settle(page)
    await audit.check(page, "cart-signed-in")
    await page.get_by_role("button", name="Place order").click()
    await expect(page.get_by_test_id("order")).to_have_count(1)
    await expect(page.get_by_test_id("stream-state")).to_have_text("Live")
    await audit.check(page, "orders")

    await visit(page, ui, "/payments", "Payments")
    for amount in ("700", "500"):
        await page.get_by_label("Amount (USD)").fill(amount)
        await page.get_by_role("button", name="Add transaction").click()
        await expect(page.get_by_test_id("add-result")).to_be_visible()
    await expect(page.get_by_test_id("add-result")).to_contain_text("Refused")
    await settle(page)
    # A refused charge is an answer the page expects, not a failure of the page.
    await audit.check(page, "payments-refused", requests_may_fail=True)
    await page.get_by_role("button", name=re.compile("Pay all")).click()
    await expect(page.get_by_test_id("pay-result")).to_be_visible()
    await settle(page)
    await audit.check(page, "payments-paid")

    await visit(page, ui, "/profile", "Your profile")
    await expect(page.get_by_role("button", name="Save changes")).to_be_visible()
    await audit.check(page, "profile")
    await visit(page, ui, "/analytics", "Analytics")
    await expect(page.get_by_test_id("tile-transactions")).to_be_visible()
    await audit.check(page, "analytics-signed-in")
    await visit(page, ui, "/admin", "Administrators only")
    await audit.check(page, "admin-refused")
    audit.assert_clean()


async def _long_words(api: aiohttp.ClientSession, admin_token: str) -> str:
    """A product and a customer whose name is one long word, as pasted text can be. The
    customer has a transaction analytics has counted, so the administrator's "Top users"
    chart has a user to show whatever other tests ran before."""
    word = f"Extraordinarilylongunbrokenname{uuid.uuid4().hex}"
    await add_product(api, admin_token, name=word, stock=1)
    username = await _shopper(api)
    user = await login(api, username, PASSWORD)
    profile = {"name": word, "email": f"{word.lower()}@example.org", "city": word}
    status, body = await call(api, "PUT", "/api/customers/me", user["token"], json=profile)
    assert status == 200, body
    charge = {"amount": 12.5, "description": word}
    status, body = await call(api, "POST", "/payment/transactions", user["token"], json=charge)
    assert status == 201, body
    await wait_for(
        lambda: call(api, "GET", "/api/analytics/users?limit=500", admin_token),
        until=lambda answer: answer[0] == 200 and user["id"] in [u["user_id"] for u in answer[1]],
        what="analytics counting the long-named customer's transaction",
    )
    return word


async def test_an_administrator(
    audited: tuple[Page, Audit],
    ui: UI,
    platform: Platform,
    api: aiohttp.ClientSession,
    admin_token: str,
    product: dict[str, object],
) -> None:
    page, audit = audited
    word = await _long_words(api, admin_token)
    await sign_in(page, ui, *platform.admin)
    await visit(page, ui, "/admin/products", "Administration")
    await expect(page.get_by_test_id("admin-product").first).to_be_visible()
    await audit.check(page, "admin-products")
    row = page.get_by_test_id("admin-product").filter(has_text=str(product["name"]))
    await row.get_by_role("button", name=f"Delete {product['name']}").click()
    await expect(
        row.get_by_role("button", name=f"Confirm delete {product['name']}")
    ).to_be_focused()
    await audit.check(page, "admin-products-confirm")
    await row.get_by_role("button", name=f"Keep {product['name']}").click()
    await page.get_by_role("button", name="New product").click()
    await expect(page.get_by_role("heading", name="New product")).to_be_visible()
    await audit.check(page, "admin-product-editor")

    await visit(page, ui, "/admin/customers", "Administration")
    await expect(page.get_by_test_id("admin-customer").first).to_be_visible()
    await audit.check(page, "admin-customers")
    await page.get_by_label("Search customers").fill(word)
    await page.get_by_role("button", name="Search", exact=True).click()
    await expect(page.get_by_test_id("admin-customer")).to_have_count(1)
    await audit.check(page, "admin-customers-long-words")
    await page.get_by_role("button", name="New customer").click()
    await expect(page.get_by_role("heading", name="New customer")).to_be_visible()
    await audit.check(page, "admin-customer-editor")
    await visit(page, ui, "/admin/webhooks", "Administration")
    await expect(page.get_by_role("heading", name="Failed webhook deliveries")).to_be_visible()
    await audit.check(page, "admin-webhooks")
    await visit(page, ui, "/analytics", "Analytics")
    await expect(page.locator("figure").filter(has_text="Top users")).to_be_visible()
    await settle(page)
    await audit.check(page, "analytics-admin")
    audit.assert_clean()
