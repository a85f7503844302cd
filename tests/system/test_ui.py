"""The browser UI driven by Chromium, end to end: static server, gateway, services, Kafka.

Each test acts as a person would (labels, buttons, what the page shows) and
waits for what it expects to appear, never for a fixed time. A screenshot of
each main page goes to ``web/screenshots/`` (git-ignored) for a human look.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from shopmesh.launcher import Launcher, RunningService, ServiceSpec
from tests.platform_fixtures import Platform, free_port
from tests.system.test_payments_flow import call

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "web" / "dist"
SHOTS = REPO / "web" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# Without these flags the closed network makes Chromium stall on start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PASSWORD = "ui-test-password-1"
# Generous, because the services run on a small machine; the tests still finish
# as soon as the condition holds.
WAIT_MS = 20_000
expect.set_options(timeout=WAIT_MS)


@dataclass
class UI:
    web: str  # the page origin the browser opens
    gateway: str  # the gateway that page talks to


def _build_web_app() -> None:
    """The tests run against the real build; scripts/web.sh rebuilds only when stale."""
    for step in ("build", "browser"):
        subprocess.run([str(REPO / "scripts" / "web.sh"), step], check=True)
    if not (DIST / "index.html").is_file():
        pytest.fail("web/dist/index.html is missing after scripts/web.sh build")


async def _start_own_web(platform: Platform, state_dir: Path) -> AsyncIterator[UI]:
    """A static server and a gateway allowing its origin, when the platform has no web yet."""
    launcher = Launcher(state_dir)
    web_port, gateway_port = free_port(), free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    gateway = ServiceSpec("gateway", 8080, instance="ui", database=False)
    web = ServiceSpec("web", 3000, database=False)
    env = {**platform.env, "GATEWAY_CORS_ORIGINS": web_url}
    running: list[RunningService] = [
        launcher.start(gateway, env=env, port=gateway_port),
        launcher.start(
            web, env={**env, "WEB_API_BASE": gateway_url, "WEB_DIST_DIR": str(DIST)}, port=web_port
        ),
    ]
    try:
        ready = await launcher.wait_ready(running, timeout=60)
        if not all(ready.values()):
            logs = {r.spec.key: r.log_path.read_text()[-2000:] for r in running}
            pytest.fail(f"UI servers not ready: {ready}\n{logs}")
        yield UI(web=web_url, gateway=gateway_url)
    finally:
        launcher.stop_all([gateway, web])


@pytest.fixture(scope="session")
async def ui(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[UI]:
    await asyncio.to_thread(_build_web_app)
    if "web" in platform.urls:
        yield UI(web=platform.urls["web"], gateway=platform.gateway)
        return
    async for started in _start_own_web(platform, tmp_path_factory.mktemp("ui")):
        yield started


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/web.sh browser")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(WAIT_MS)
    yield context
    await context.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    page = await context.new_page()
    crashes: list[str] = []
    page.on("pageerror", lambda error: crashes.append(str(error)))
    yield page
    assert crashes == [], f"uncaught errors in the page: {crashes}"


@pytest.fixture
async def api(ui: UI) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=ui.gateway) as session:
        yield session


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def register(page: Page, ui: UI) -> str:
    username = f"ui_{uuid.uuid4().hex[:10]}"
    await page.goto(f"{ui.web}/signin?mode=register")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_test_id("user-chip")).to_contain_text(username)
    return username


async def sign_in(page: Page, ui: UI, username: str, password: str) -> None:
    await page.goto(f"{ui.web}/signin")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_test_id("user-chip")).to_contain_text(username)


async def token_of(api: aiohttp.ClientSession, username: str, password: str) -> str:
    status, body = await call(
        api, "POST", "/auth/login", json={"username": username, "password": password}
    )
    assert status == 200, body
    return str(body["token"])


async def add_product(
    api: aiohttp.ClientSession, admin_token: str, *, name: str, stock: int, price: float = 24.5
) -> dict[str, Any]:
    status, product = await call(
        api,
        "POST",
        "/api/products",
        admin_token,
        json={
            "name": name,
            "description": "Hand-thrown stoneware, dishwasher safe.",
            "price": price,
            "stock_quantity": stock,
            "category": "Kitchen",
            "brand": "Loam & Co",
        },
    )
    assert status == 201, product
    return product


@pytest.fixture(scope="session")
async def admin_token(platform: Platform, ui: UI) -> str:
    async with aiohttp.ClientSession(base_url=ui.gateway) as session:
        return await token_of(session, *platform.admin)


# --- session -----------------------------------------------------------------------------


async def test_register_then_reload_keeps_the_session_and_sign_out_ends_it(
    page: Page, ui: UI
) -> None:
    username = await register(page, ui)

    await page.reload()
    # Restored from the HttpOnly refresh cookie: the token itself is in memory only.
    await expect(page.get_by_test_id("user-chip")).to_contain_text(username)
    stored = await page.evaluate("JSON.stringify({...localStorage, ...sessionStorage})")
    assert "eyJ" not in stored, "an access token leaked into web storage"

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()
    await page.goto(f"{ui.web}/orders")
    await expect(page.get_by_role("heading", name="Sign in to see your orders")).to_be_visible()
    await expect(page.get_by_test_id("user-chip")).to_have_count(0)


async def test_wrong_password_and_taken_username_show_the_servers_message(
    page: Page, ui: UI
) -> None:
    username = await register(page, ui)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()

    await page.goto(f"{ui.web}/signin")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill("not-the-password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("invalid")
    await shot(page, "signin-error")

    await page.get_by_role("tab", name="Create account").click()
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("alert")).to_contain_text("taken")


# --- payments and analytics -------------------------------------------------------------


async def add_transaction(page: Page, amount: str, description: str) -> None:
    await page.get_by_label("Amount (USD)").fill(amount)
    await page.get_by_label("Description").fill(description)
    await page.get_by_role("button", name="Add transaction").click()


async def test_transactions_up_to_the_limit_then_refusal_then_pay_all(page: Page, ui: UI) -> None:
    await register(page, ui)
    await page.get_by_role("link", name="Payments", exact=True).click()
    await expect(page.get_by_role("heading", name="No transactions yet")).to_be_visible()

    await add_transaction(page, "600", "Standing desk")
    await expect(page.get_by_test_id("transaction")).to_have_count(1)
    await add_transaction(page, "300.50", "Monitor arm")
    await expect(page.get_by_test_id("transaction")).to_have_count(2)
    await expect(page.get_by_test_id("limit-used")).to_contain_text("$900.50")
    await expect(page.get_by_test_id("limit-remaining")).to_contain_text("$99.50 remaining")

    await add_transaction(page, "200", "Office chair")
    refusal = page.get_by_test_id("transaction-error")
    await expect(refusal).to_contain_text("Refused")
    await expect(refusal).to_contain_text("limit")
    await expect(page.get_by_test_id("transaction")).to_have_count(2)
    await shot(page, "payments-refused")

    await page.get_by_role("button", name="Pay all ($900.50)").click()
    await expect(page.get_by_role("button", name="Nothing to pay")).to_be_visible()
    await expect(page.locator("[data-testid=transaction][data-paid=true]")).to_have_count(2)
    await expect(page.locator("[data-testid=transaction][data-paid=false]")).to_have_count(0)
    await shot(page, "payments")


async def test_analytics_refreshes_on_its_own(
    page: Page, ui: UI, api: aiohttp.ClientSession
) -> None:
    await page.goto(f"{ui.web}/analytics")
    tile = page.get_by_test_id("tile-transactions")
    await expect(tile).to_be_visible()
    before = await tile.locator(".tile-value").inner_text()

    status, user = await call(
        api,
        "POST",
        "/auth/register",
        json={"username": f"an_{uuid.uuid4().hex[:10]}", "password": PASSWORD},
    )
    assert status == 201, user
    status, body = await call(
        api, "POST", "/payment/transactions", user["token"], json={"amount": 12.5}
    )
    assert status == 201, body

    # No reload: the page polls the stats and the event reaches analytics through Kafka.
    await expect(tile.locator(".tile-value")).not_to_have_text(before, timeout=30_000)
    await expect(page.locator("figure svg").first).to_be_visible()
    await shot(page, "analytics")


# --- commerce -----------------------------------------------------------------------------


async def test_order_from_the_catalogue_and_watch_it_dispatch_live(
    page: Page, ui: UI, api: aiohttp.ClientSession, admin_token: str
) -> None:
    name = f"Speckled mug {uuid.uuid4().hex[:6]}"
    await add_product(api, admin_token, name=name, stock=8)
    await register(page, ui)

    await page.get_by_role("link", name="Shop", exact=True).click()
    await page.get_by_label("Search products").fill(name)
    await page.get_by_role("button", name="Search", exact=True).click()
    card = page.get_by_test_id("product-card").filter(has_text=name)
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text("In stock (8)")
    await shot(page, "catalogue")
    await card.get_by_role("button", name=f"Add {name} to cart").click()
    await expect(page.get_by_test_id("cart-count")).to_have_text("1")

    await page.reload()  # the cart survives a reload
    await expect(page.get_by_test_id("cart-count")).to_have_text("1")
    await page.get_by_role("link", name="Cart, 1 item").click()
    await expect(page.get_by_test_id("cart-line")).to_contain_text(name)
    await expect(page.get_by_test_id("cart-subtotal")).to_have_text("$24.50")
    await shot(page, "cart")

    await page.get_by_role("button", name="Place order").click()
    await page.wait_for_url("**/orders")
    order = page.get_by_test_id("order").filter(has_text=name)
    await expect(order).to_have_count(1)
    await expect(page.get_by_test_id("cart-count")).to_have_text("0")
    await page.evaluate("window.__sameDocument = true")
    # The dispatcher's Kafka event reaches the page through the live stream.
    await expect(order.locator("[data-status]")).to_have_attribute(
        "data-status", "Dispatched", timeout=30_000
    )
    assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    await expect(page.get_by_test_id("stream-state")).to_contain_text("Live")
    await shot(page, "orders")


async def test_ordering_more_than_the_stock_shows_what_is_left(
    page: Page, ui: UI, api: aiohttp.ClientSession, admin_token: str
) -> None:
    name = f"Last lamp {uuid.uuid4().hex[:6]}"
    product = await add_product(api, admin_token, name=name, stock=1, price=80)
    await register(page, ui)
    await page.goto(f"{ui.web}/products/{product['id']}")
    await expect(page.get_by_test_id("stock")).to_contain_text("Only 1 left")
    await page.get_by_role("button", name="Add to cart").click()
    await expect(page.get_by_test_id("cart-count")).to_have_text("1")
    await shot(page, "product")

    await page.goto(f"{ui.web}/cart")
    await page.get_by_role("button", name="One more").click()
    await expect(page.get_by_test_id("cart-count")).to_have_text("2")
    await page.get_by_role("button", name="Place order").click()
    error = page.get_by_test_id("checkout-error")
    await expect(error).to_contain_text("Not enough stock")
    await expect(error).to_contain_text(f"{name}: 1 left")
    await expect(page.get_by_test_id("cart-count")).to_have_text("2")


async def test_admin_adds_a_product_that_then_shows_in_the_catalogue(
    page: Page, ui: UI, platform: Platform
) -> None:
    await sign_in(page, ui, *platform.admin)
    await page.get_by_role("link", name="Admin", exact=True).click()
    await page.get_by_role("button", name="New product").click()
    name = f"Walnut tray {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("Price (USD)").fill("39.90")
    await page.get_by_label("Stock").fill("7")
    await page.get_by_label("Category").fill("Home")
    await page.get_by_label("Brand").fill("Grainline")
    await page.get_by_role("button", name="Create product").click()
    await expect(page.get_by_test_id("admin-product").filter(has_text=name)).to_have_count(1)
    await shot(page, "admin-products")

    await page.get_by_role("link", name="Shop", exact=True).click()
    await page.get_by_label("Search products").fill(name)
    await page.get_by_role("button", name="Search", exact=True).click()
    card = page.get_by_test_id("product-card").filter(has_text=name)
    await expect(card).to_contain_text("$39.90")
    await expect(card).to_contain_text("In stock (7)")

    await page.goto(f"{ui.web}/admin/webhooks")
    await expect(page.get_by_role("heading", name="Failed webhook deliveries")).to_be_visible()
    await expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
    await shot(page, "admin-webhooks")


async def test_profile_is_saved(page: Page, ui: UI) -> None:
    username = await register(page, ui)
    await page.get_by_test_id("user-chip").click()
    await expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    await page.get_by_label("Full name").fill("Ada Lovelace")
    await page.get_by_label("Email").fill(f"{username}@example.org")
    await page.get_by_label("City").fill("London")
    await (
        page.get_by_role("button", name="Save changes")
        .or_(page.get_by_role("button", name="Create profile"))
        .click()
    )
    await expect(page.get_by_role("status").filter(has_text="Your profile is")).to_be_visible()
    await page.reload()
    await expect(page.get_by_label("City")).to_have_value("London")
    await shot(page, "profile")


async def test_shop_on_a_phone(browser: Browser, ui: UI) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = await context.new_page()
        await page.goto(ui.web)
        await expect(page.get_by_role("heading", name="Find something you")).to_be_visible()
        menu = page.get_by_role("button", name="Menu")
        await expect(menu).to_be_visible()
        await menu.click()
        await expect(page.get_by_role("link", name="Payments")).to_be_visible()
        await menu.click()
        await shot(page, "phone-catalogue")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    finally:
        await context.close()
