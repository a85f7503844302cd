"""Payments and analytics in the browser: the limit, a refusal, paying everything, live figures."""

from __future__ import annotations

import uuid

import aiohttp
import pytest
from playwright.async_api import Browser, Locator, Page

from tests.platform_fixtures import Platform
from tests.system.test_payments_flow import call
from tests.system.ui.support import (
    PASSWORD,
    PHONE,
    UI,
    expect,
    new_context,
    register,
    shot,
    sign_in,
)

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def add_transaction(page: Page, amount: str, description: str) -> None:
    await page.get_by_label("Amount (USD)").fill(amount)
    await page.get_by_label("Description").fill(description)
    await page.get_by_role("button", name="Add transaction").click()


async def test_transactions_up_to_the_limit_then_refusal_then_pay_all(page: Page, ui: UI) -> None:
    await register(page, ui)
    await page.get_by_role("link", name="Payments", exact=True).click()
    await expect(page.get_by_role("heading", name="No transactions yet")).to_be_visible()

    await add_transaction(page, "-5", "Refund")
    await expect(page.get_by_text("Enter an amount above 0.")).to_be_visible()
    await add_transaction(page, "600", "Standing desk")
    await expect(page.get_by_test_id("transaction")).to_have_count(1)
    await expect(page.get_by_test_id("add-result")).to_have_text("Added $600.00 for Standing desk.")
    await add_transaction(page, "300.50", "Monitor arm")
    await expect(page.get_by_test_id("transaction")).to_have_count(2)
    await expect(page.get_by_test_id("limit-used")).to_contain_text("$900.50")
    await expect(page.get_by_test_id("limit-remaining")).to_contain_text("$99.50 remaining")

    await add_transaction(page, "200", "Office chair")
    refusal = page.get_by_test_id("add-result")
    await expect(refusal).to_have_text(
        "Refused: $200.00 would take you over your $1,000.00 limit: $99.50 is left."
    )
    await expect(page.get_by_test_id("transaction")).to_have_count(2)
    await shot(page, "payments-refused")

    await page.get_by_role("button", name="Pay all ($900.50)").click()
    await expect(page.get_by_role("button", name="Nothing to pay")).to_be_visible()
    await expect(page.locator("[data-testid=transaction][data-paid=true]")).to_have_count(2)
    await expect(page.locator("[data-testid=transaction][data-paid=false]")).to_have_count(0)
    # The new result replaced the old refusal: one message on the page, the latest.
    await expect(page.get_by_test_id("pay-result")).to_contain_text("paid")
    await expect(page.get_by_test_id("add-result")).to_have_count(0)
    await expect(page.get_by_role("alert")).to_have_count(0)
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
    await expect(page.locator("figure").first).to_be_visible()
    await shot(page, "analytics")


async def _label_size(chart: Locator) -> float:
    size: str = await chart.locator(".bar-label").first.evaluate(
        "e => getComputedStyle(e).fontSize"
    )
    return float(size.removesuffix("px"))


async def test_admins_see_top_users_by_name_in_text_the_size_of_the_page(
    page: Page, browser: Browser, ui: UI, api: aiohttp.ClientSession, platform: Platform
) -> None:
    username = f"big_{uuid.uuid4().hex[:8]}"
    status, user = await call(
        api, "POST", "/auth/register", json={"username": username, "password": PASSWORD}
    )
    assert status == 201, user
    status, _ = await call(
        api, "POST", "/payment/transactions", user["token"], json={"amount": 999}
    )
    assert status == 201

    await sign_in(page, ui, *platform.admin)
    await page.goto(f"{ui.web}/analytics")
    chart = page.locator("figure").filter(has_text="Top users by amount")
    # The profile's name (customers names new accounts after their username), not "User 7".
    await expect(chart).to_contain_text(username, timeout=30_000)
    await expect(chart).not_to_contain_text(f"User #{user['id']}")
    wide = await _label_size(chart)
    await shot(page, "analytics-admin")

    phone = await new_context(browser, PHONE)
    try:
        small = await phone.new_page()
        await small.goto(f"{ui.web}/analytics")
        statuses = small.locator("figure").filter(has_text="Transactions by status")
        await expect(statuses.locator(".bar-label").first).to_be_visible()
        # The chart's words keep the page's size, on the wide admin chart and on a phone alike.
        assert await _label_size(statuses) == wide
        body = float(
            (await small.evaluate("getComputedStyle(document.body).fontSize")).removesuffix("px")
        )
        assert wide >= 0.85 * body
    finally:
        await phone.close()
