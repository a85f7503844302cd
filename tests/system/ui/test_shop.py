"""Shopping in the browser: the catalogue, the cart, orders that change live, admin products."""

from __future__ import annotations

import uuid

import aiohttp
import pytest
from playwright.async_api import BrowserContext, Page

from tests.platform_fixtures import Platform
from tests.system.test_payments_flow import call
from tests.system.ui.recorder import order_statuses, record_order_statuses
from tests.system.ui.support import (
    PASSWORD,
    UI,
    add_product,
    expect,
    login,
    register,
    shot,
    sign_in,
)

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def search_for(page: Page, name: str) -> None:
    await page.get_by_label("Search products").fill(name)
    await page.get_by_role("button", name="Search", exact=True).click()


async def test_order_from_the_catalogue_and_watch_it_get_paid_and_dispatched_live(
    page: Page, ui: UI, api: aiohttp.ClientSession, admin_token: str
) -> None:
    name = f"Speckled mug {uuid.uuid4().hex[:6]}"
    await add_product(api, admin_token, name=name, stock=8)
    await record_order_statuses(page)
    await register(page, ui)

    await page.get_by_role("link", name="Shop", exact=True).click()
    await search_for(page, name)
    card = page.get_by_test_id("product-card").filter(has_text=name)
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text("In stock (8)")
    await shot(page, "catalogue")
    await card.get_by_role("button", name=f"Add to cart ({name})").click()
    await expect(page.get_by_test_id("cart-count")).to_have_text("1")

    await page.reload()  # the cart survives a reload
    await expect(page.get_by_test_id("cart-count")).to_have_text("1")
    await page.get_by_role("link", name="Cart, 1 item").click()
    await expect(page.get_by_test_id("cart-line")).to_contain_text(name)
    await expect(page.get_by_test_id("cart-total")).to_have_text("$24.50")
    await expect(page.get_by_test_id("cart-limit-note")).to_have_text(
        "Charged to your payments when you place the order."
    )
    await shot(page, "cart")

    await page.get_by_role("button", name="Place order").click()
    await page.wait_for_url("**/orders")
    # The checkout's total, as the orders service answered it.
    await expect(page.get_by_text("Order placed: $24.50.")).to_be_visible()
    order = page.get_by_test_id("order").filter(has_text=name)
    await expect(order).to_have_count(1)
    await expect(page.get_by_test_id("cart-count")).to_have_text("0")
    await page.evaluate("window.__sameDocument = true")
    # Payments' and the dispatcher's Kafka events reach the page through the live stream.
    await expect(order.locator("[data-status]")).to_have_attribute(
        "data-status", "Dispatched", timeout=30_000
    )
    assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    order_id = await order.get_attribute("data-order-id")
    assert order_id is not None
    assert await order_statuses(page, order_id) == ["Created", "Paid", "Dispatched"]
    await expect(page.get_by_test_id("stream-state")).to_have_text("Live")
    await expect(order.get_by_role("button", name="Cancel order")).to_have_count(0)
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


async def test_the_orders_list_catches_up_when_the_network_returns_and_says_when_it_is_not_live(
    context: BrowserContext, page: Page, ui: UI, api: aiohttp.ClientSession, admin_token: str
) -> None:
    first = await add_product(api, admin_token, name=f"Tea tin {uuid.uuid4().hex[:6]}", stock=5)
    later = await add_product(api, admin_token, name=f"Tea cup {uuid.uuid4().hex[:6]}", stock=5)
    username = await register(page, ui)
    token = (await login(api, username, PASSWORD))["token"]
    await call(api, "POST", "/api/orders", token, json={"product_id": first["id"], "quantity": 1})
    await page.goto(f"{ui.web}/orders")
    await expect(page.get_by_test_id("order")).to_have_count(1)
    badge = page.get_by_test_id("stream-state")
    await expect(badge).to_have_text("Live")

    await context.set_offline(True)
    await expect(badge).to_have_text("Offline")
    status, _ = await call(
        api, "POST", "/api/orders", token, json={"product_id": later["id"], "quantity": 1}
    )
    assert status == 201
    await shot(page, "orders-offline")

    await context.set_offline(False)
    # Nobody reloads: the page reconnects and reads what it missed.
    await expect(page.get_by_test_id("order").filter(has_text=later["name"])).to_have_count(1)
    await expect(badge).to_have_text("Live")


async def test_admin_adds_a_product_that_then_shows_in_the_catalogue(
    page: Page, ui: UI, platform: Platform
) -> None:
    await sign_in(page, ui, *platform.admin)
    await page.get_by_role("link", name="Admin", exact=True).click()
    await page.get_by_role("button", name="New product").click()
    # The editor takes the focus when it opens.
    await expect(page.get_by_role("heading", name="New product")).to_be_focused()
    name = f"Walnut tray {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("Price (USD)").fill("39.90")
    await page.get_by_label("Stock").fill("7")
    await page.get_by_label("Category").fill("Home")
    await page.get_by_label("Brand").fill("Grainline")
    await page.get_by_role("button", name="Create product").click()
    await expect(page.get_by_test_id("admin-product").filter(has_text=name)).to_have_count(1)
    await expect(page.get_by_role("button", name="New product")).to_be_focused()
    await shot(page, "admin-products")

    await page.get_by_role("link", name="Shop", exact=True).click()
    await search_for(page, name)
    card = page.get_by_test_id("product-card").filter(has_text=name)
    await expect(card).to_contain_text("$39.90")
    await expect(card).to_contain_text("In stock (7)")

    await page.goto(f"{ui.web}/admin/webhooks")
    await expect(page.get_by_role("heading", name="Failed webhook deliveries")).to_be_visible()
    await expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
    await shot(page, "admin-webhooks")


async def test_the_product_form_is_explained_field_by_field_and_once(
    page: Page, ui: UI, platform: Platform
) -> None:
    await sign_in(page, ui, *platform.admin)
    await page.goto(f"{ui.web}/admin/products")
    await page.get_by_role("button", name="New product").click()
    create = page.get_by_role("button", name="Create product")
    await page.get_by_label("Price (USD)").fill("-5")
    await create.click()
    await expect(page.get_by_text("Enter an amount above 0.")).to_have_count(1)

    await page.get_by_label("Price (USD)").fill("5")
    await page.get_by_label("Image URL").fill("not a link")
    await create.click()
    # The server's findings, each once beside its field; the summary only points there.
    await expect(page.get_by_text("This is required.")).to_have_count(1)  # the name
    await expect(page.get_by_text("without spaces")).to_have_count(1)  # the image
    await expect(page.get_by_role("alert")).to_have_text("Check the highlighted fields.")
    await expect(page.get_by_text("String should have")).to_have_count(0)
    # Wide fields take the whole row of the two-column form.
    image = await page.get_by_label("Image URL").bounding_box()
    name = await page.get_by_label("Name", exact=True).bounding_box()
    assert image is not None
    assert name is not None
    assert image["width"] > 1.8 * name["width"], (image, name)


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
