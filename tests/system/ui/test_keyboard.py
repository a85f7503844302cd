"""The shop with the keyboard alone: where the focus goes, that it shows, that Escape works."""

from __future__ import annotations

import uuid

import aiohttp
import pytest
from playwright.async_api import Browser, Page

from tests.system.test_payments_flow import call
from tests.system.ui.support import (
    PASSWORD,
    PHONE,
    UI,
    Watch,
    add_product,
    expect,
    new_context,
    shot,
)

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

# Far more than any page has between two controls the journey uses.
MAX_TABS = 60

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "";
  const name = el.getAttribute("aria-label") || el.labels?.[0]?.textContent || el.textContent || "";
  return `${el.tagName.toLowerCase()}|${name.replace(/\\s+/g, " ").trim()}`;
}"""

RING = """() => {
  const style = getComputedStyle(document.activeElement);
  const width = parseFloat(style.outlineWidth);
  return { style: style.outlineStyle, width, color: style.outlineColor };
}"""


async def focused(page: Page) -> str:
    text: str = await page.evaluate(FOCUSED)
    return text


async def tab_to(page: Page, wanted: str, *, back: bool = False) -> None:
    """Presses Tab (Shift+Tab when ``back``) until the focused element is ``wanted``:
    its name, or ``tag|name`` when names alone are ambiguous."""
    seen = []
    for _ in range(MAX_TABS):
        await page.keyboard.press("Shift+Tab" if back else "Tab")
        now = await focused(page)
        if wanted in (now, now.split("|", 1)[-1]):
            await assert_focus_ring(page)
            return
        seen.append(now)
    raise AssertionError(f"Tab never reached {wanted!r}; it went through {seen}")


async def assert_focus_ring(page: Page) -> None:
    ring = await page.evaluate(RING)
    assert ring["style"] != "none", f"no focus ring: {ring}"
    assert ring["width"] >= 2, f"a faint focus ring: {ring}"


async def test_sign_in_add_to_cart_and_check_out_with_the_keyboard_alone(
    page: Page, ui: UI, api: aiohttp.ClientSession, admin_token: str
) -> None:
    watch = Watch().attach(page)
    name = f"Linen apron {uuid.uuid4().hex[:6]}"
    await add_product(api, admin_token, name=name, stock=3)
    username = f"kb_{uuid.uuid4().hex[:10]}"
    status, _ = await call(
        api, "POST", "/auth/register", json={"username": username, "password": PASSWORD}
    )
    assert status == 201

    await page.goto(f"{ui.web}/signin")
    await tab_to(page, "button|Sign in")  # the tab of the Sign in / Create account pair
    await tab_to(page, "Username")
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")

    # Signed in, the shop opens with the focus on its heading, not lost on the page body.
    await expect(page.get_by_test_id("user-chip")).to_contain_text(username)
    await expect(page.get_by_role("heading", level=1)).to_be_focused()
    await tab_to(page, "Search products")
    await page.keyboard.type(name)
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("product-card")).to_have_count(1)
    await tab_to(page, f"Add to cart ({name})")
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("cart-count")).to_have_text("1")

    await tab_to(page, "Cart, 1 item", back=True)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Your cart")).to_be_focused()
    await tab_to(page, "Place order")
    await page.keyboard.press("Enter")

    await expect(page.get_by_role("heading", name="My orders")).to_be_focused()
    await expect(page.get_by_test_id("order").filter(has_text=name)).to_have_count(1)
    assert watch.take() == []


async def test_the_phone_menu_closes_with_escape_and_gives_the_focus_back(
    browser: Browser, ui: UI
) -> None:
    context = await new_context(browser, PHONE)
    try:
        page = await context.new_page()
        await page.goto(ui.web)
        await expect(page.get_by_role("heading", name="Find something you")).to_be_visible()
        menu = page.get_by_role("button", name="Menu")
        await menu.focus()
        await page.keyboard.press("Enter")
        await expect(menu).to_have_attribute("aria-expanded", "true")
        payments = page.get_by_role("link", name="Payments", exact=True)
        await expect(payments).to_be_visible()
        await shot(page, "phone-menu")

        await page.keyboard.press("Tab")
        await page.keyboard.press("Escape")
        await expect(menu).to_have_attribute("aria-expanded", "false")
        await expect(payments).to_be_hidden()
        await expect(menu).to_be_focused()
        await assert_focus_ring(page)
    finally:
        await context.close()


async def test_the_focus_ring_shows_on_the_navy_bar_and_on_the_sign_in_tabs(
    page: Page, ui: UI
) -> None:
    await page.goto(f"{ui.web}/signin")
    await tab_to(page, "Shop")  # a link on the navy bar
    ring = await page.evaluate(RING)
    assert ring["color"] == "rgb(255, 191, 71)", ring  # amber, 7:1 against the navy
    await tab_to(page, "button|Sign in")
    ring = await page.evaluate(RING)
    assert ring["color"] == "rgb(29, 79, 208)", ring  # dark blue on the light page
    await page.keyboard.press("ArrowRight")
    await expect(page.get_by_role("tab", name="Create account")).to_be_focused()
    await assert_focus_ring(page)
