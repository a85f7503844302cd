"""The order saga in the browser: a declined order gives its stock back; the payments page
shows order charges, linked to their order, and a cancelled order's charge voided; in a shop
that does not charge orders (`ORDERS_REQUIRE_PAYMENT=false`) nothing says payment."""

from __future__ import annotations

import re
import uuid

import aiohttp
import pytest
from playwright.async_api import Page

from tests.platform_fixtures import Platform, restarted_with
from tests.system.test_payments_flow import call
from tests.system.ui.recorder import (
    order_notes,
    order_statuses,
    record_order_notes,
    record_order_statuses,
)
from tests.system.ui.support import (
    DESKTOP,
    PASSWORD,
    UI,
    Audit,
    Watch,
    add_product,
    expect,
    login,
    register,
)

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def test_an_order_past_the_limit_is_declined_and_its_stock_is_back(
    page: Page, ui: UI, api: aiohttp.ClientSession, admin_token: str
) -> None:
    name = f"Walnut desk {uuid.uuid4().hex[:6]}"
    product = await add_product(api, admin_token, name=name, stock=3, price=600)
    audit = Audit(DESKTOP, Watch().attach(page))
    await record_order_statuses(page)
    await register(page, ui)
    await page.goto(f"{ui.web}/products/{product['id']}")
    await expect(page.get_by_test_id("stock")).to_have_text("Only 3 left")
    await page.get_by_role("button", name="Add to cart").click()
    await page.get_by_role("button", name="Add to cart").click()
    await page.get_by_role("link", name="Cart, 2 items").click()
    await expect(page.get_by_test_id("cart-total")).to_have_text("$1,200.00")
    # The cart says beforehand that two desks do not fit in the $1,000.00 limit...
    await expect(page.get_by_test_id("cart-limit-note")).to_have_text(
        "This is more than the $1,000.00 left of your spending limit: the payment will be declined."
    )
    await audit.check(page, "cart-over-limit")

    # ...and placing it anyway is declined by payments, live.
    await page.get_by_role("button", name="Place order").click()
    await page.wait_for_url("**/orders")
    order = page.get_by_test_id("order").filter(has_text=name)
    await expect(order.locator("[data-status]")).to_have_attribute(
        "data-status", "Payment declined"
    )
    await expect(order.get_by_test_id("order-note")).to_contain_text(
        "Payment declined: it would take you over your spending limit."
    )
    order_id = await order.get_attribute("data-order-id")
    assert order_id is not None
    assert await order_statuses(page, order_id) == ["Created", "Payment declined"]
    await expect(order.get_by_role("button", name=re.compile("Cancel order"))).to_have_count(0)
    await audit.check(page, "orders-declined")

    # The two desks are for sale again, and nothing was charged.
    await order.get_by_role("link", name=name).click()
    await expect(page.get_by_test_id("stock")).to_have_text("Only 3 left")
    await page.goto(f"{ui.web}/payments")
    await expect(page.get_by_test_id("limit-used")).to_contain_text("$0.00")
    await expect(page.get_by_role("heading", name="No transactions yet")).to_be_visible()
    audit.assert_clean()


async def test_the_payments_page_links_order_charges_and_strikes_a_cancelled_ones_through(
    page: Page, ui: UI, api: aiohttp.ClientSession, admin_token: str
) -> None:
    kept = await add_product(api, admin_token, name=f"Linen apron {uuid.uuid4().hex[:6]}", stock=5)
    dropped = await add_product(
        api, admin_token, name=f"Linen towel {uuid.uuid4().hex[:6]}", stock=5, price=40
    )
    audit = Audit(DESKTOP, Watch().attach(page))
    username = await register(page, ui)
    token = (await login(api, username, PASSWORD))["token"]
    placed: dict[str, int] = {}
    for product in (kept, dropped):
        status, body = await call(
            api, "POST", "/api/orders", token, json={"product_id": product["id"], "quantity": 1}
        )
        assert status == 201, body
        placed[product["name"]] = body["id"]

    await page.goto(f"{ui.web}/orders")
    towel = page.get_by_test_id("order").filter(has_text=dropped["name"])
    # A person cancels the paid order while the dispatcher's handling delay lasts.
    await expect(towel.locator("[data-status]")).to_have_attribute("data-status", "Paid")
    await towel.get_by_role("button", name=re.compile("Cancel order")).click()
    await expect(
        page.get_by_text(f"Order #{placed[dropped['name']]} is cancelled.")
    ).to_contain_text("Its charge of $40.00 is voided.")
    await expect(towel.locator("[data-status]")).to_have_attribute("data-status", "Cancelled")
    apron = page.get_by_test_id("order").filter(has_text=kept["name"])
    await expect(apron.locator("[data-status]")).to_have_attribute(
        "data-status", "Dispatched", timeout=30_000
    )

    await page.get_by_role("link", name="Payments", exact=True).click()
    rows = page.get_by_test_id("transaction")
    await expect(rows).to_have_count(2)
    voided = rows.filter(has_text=re.compile(rf"Order #{placed[dropped['name']]}\b"))
    await expect(voided).to_have_attribute("data-state", "voided")
    await expect(voided.locator("s").first).to_be_visible()  # struck through
    await expect(voided.get_by_text("Voided", exact=True)).to_be_visible()  # and said in words
    await expect(voided).to_contain_text("(voided, not counted)")
    charge = rows.filter(has_text=re.compile(rf"Order #{placed[kept['name']]}\b"))
    await expect(charge).to_have_attribute("data-state", "unpaid")
    await expect(charge.locator("s")).to_have_count(0)
    # The limit counts the apron's charge, not the voided towel's.
    await expect(page.get_by_test_id("limit-used")).to_contain_text("$24.50")
    await expect(page.get_by_role("button", name="Pay all ($24.50)")).to_be_visible()
    await audit.check(page, "payments-order-charges")

    await charge.get_by_role("link", name=f"Order #{placed[kept['name']]}").click()
    await page.wait_for_url(f"**/orders#order-{placed[kept['name']]}")
    target = page.locator(f"#order-{placed[kept['name']]}")
    await expect(target).to_contain_text(str(kept["name"]))
    await expect(target).to_be_focused()
    await audit.check(page, "orders-linked")
    audit.assert_clean()


async def test_a_shop_that_does_not_charge_orders_never_says_awaiting_payment(
    page: Page, ui: UI, api: aiohttp.ClientSession, admin_token: str, platform: Platform
) -> None:
    name = f"Clay jug {uuid.uuid4().hex[:6]}"
    product = await add_product(api, admin_token, name=name, stock=3, price=1500)
    async with restarted_with(platform, "orders", {"ORDERS_REQUIRE_PAYMENT": "false"}):
        audit = Audit(DESKTOP, Watch().attach(page))
        await record_order_statuses(page)
        await record_order_notes(page)
        await register(page, ui)
        await page.goto(f"{ui.web}/products/{product['id']}")
        await page.get_by_role("button", name="Add to cart").click()
        await page.get_by_role("link", name="Cart, 1 item").click()
        # Over the $1,000.00 limit, but nothing is charged: no warning of a decline.
        await expect(page.get_by_test_id("cart-limit-note")).to_have_text(
            "Nothing is charged to your payments: this shop ships orders without a charge."
        )
        await audit.check(page, "cart-uncharged")
        await page.get_by_role("button", name="Place order").click()
        await page.wait_for_url("**/orders")
        order = page.get_by_test_id("order").filter(has_text=name)
        await expect(order.locator("[data-status]")).to_have_attribute(
            "data-status", "Dispatched", timeout=30_000
        )
        order_id = await order.get_attribute("data-order-id")
        assert order_id is not None
        assert await order_statuses(page, order_id) == ["Created", "Dispatched"]
        # While it was Created (as long as the handling delay), never "Awaiting payment".
        assert set(await order_notes(page, order_id)) <= {"Placed", "Preparing for dispatch"}
        await page.goto(f"{ui.web}/payments")
        await expect(page.get_by_role("heading", name="No transactions yet")).to_be_visible()
        audit.assert_clean()
