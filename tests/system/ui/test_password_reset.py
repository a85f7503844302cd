"""The web UI's forgot-password and reset-password pages, in Chromium, on the whole platform:
the link arrives as a development .eml file, sets a new password once, and signing in works."""

from __future__ import annotations

import email
import re
import uuid
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page

from tests.platform_fixtures import Platform
from tests.support import wait_for
from tests.system.test_payments_flow import call
from tests.system.ui.support import UI, expect, sign_in

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def _links_to(folder: Path, address: str) -> list[str]:
    links = []
    for path in folder.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes())
        body = message.get_payload(decode=True)
        if message["To"] == address and isinstance(body, bytes):
            found = re.search(r"reset-password\?token=([A-Za-z0-9_-]+)", body.decode())
            links += [found.group(1)] if found else []
    return links


async def test_a_forgotten_password_is_reset_from_the_mailed_link(
    page: Page, ui: UI, platform: Platform
) -> None:
    address = f"ui.{uuid.uuid4().hex[:8]}@example.org"
    async with aiohttp.ClientSession(base_url=ui.gateway) as api:
        status, account = await call(
            api, "POST", "/api/auth/register", json={"email": address, "password": "old-password-1"}
        )
    assert status == 201, account

    await page.goto(f"{ui.web}/signin")
    await page.get_by_role("link", name="Forgot your password?").click()
    await page.get_by_label("Email").fill(address)
    await page.get_by_role("button", name="Send the link").click()
    await expect(page.locator(".alert-success")).to_contain_text("reset link is on its way")
    # The answer replaced the form: it holds the focus the form's button had.
    await expect(page.locator(".done")).to_be_focused()

    folder = Path(platform.env["SHOPMESH_DATA_DIR"]) / "mail"

    async def mailed() -> list[str]:
        return _links_to(folder, address)

    [token] = await wait_for(mailed, what="the reset mail")
    await page.goto(f"{ui.web}/reset-password?token={token}")
    await page.get_by_label("New password", exact=True).fill("new-password-2")
    await page.get_by_label("New password, again").fill("new-password-2")
    await page.get_by_role("button", name="Set the new password").click()
    await expect(page.locator(".alert-success")).to_contain_text("Your password has been changed")

    await sign_in(page, ui, account["username"], "new-password-2")

    # The link worked once.
    await page.goto(f"{ui.web}/reset-password?token={token}")
    await page.get_by_label("New password", exact=True).fill("third-password-3")
    await page.get_by_label("New password, again").fill("third-password-3")
    await page.get_by_role("button", name="Set the new password").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "This password reset link is invalid, used or expired. Ask for a new one below."
    )


async def test_the_two_new_passwords_must_match_and_the_field_says_so(page: Page, ui: UI) -> None:
    await page.goto(f"{ui.web}/reset-password?token=not-a-real-token")
    await page.get_by_label("New password", exact=True).fill("new-password-2")
    await page.get_by_label("New password, again").fill("new-password-3")
    await page.get_by_role("button", name="Set the new password").click()
    again = page.get_by_label("New password, again")
    await expect(again).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_text("The two passwords differ.")).to_have_count(1)
    await expect(page.get_by_role("alert")).to_have_count(0)  # said beside the field only
