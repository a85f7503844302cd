"""Fixtures of the browser tests: the built UI served by the platform's static server, Chromium."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.platform_fixtures import Platform
from tests.system.ui.support import AXE, CHROMIUM, CHROMIUM_ARGS, DIST, REPO, UI, Watch, new_context


def _build_web_app() -> None:
    """The tests run against the real build; scripts/web.sh rebuilds only when stale."""
    for step in ("build", "browser"):
        subprocess.run([str(REPO / "scripts" / "web.sh"), step], check=True)
    if not (DIST / "index.html").is_file():
        pytest.fail("web/dist/index.html is missing after scripts/web.sh build")
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: scripts/web.sh install puts it there (npm ci)")


@pytest.fixture(scope="session")
async def ui(platform: Platform) -> UI:
    await asyncio.to_thread(_build_web_app)
    return UI(web=platform.urls["web"], gateway=platform.gateway)


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
    context = await new_context(browser)
    yield context
    await context.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    """A tab whose uncaught errors fail the test."""
    watch = Watch()
    page = await context.new_page()
    page.on("pageerror", lambda error: watch.problems.append(f"uncaught: {error}"))
    yield page
    assert watch.problems == [], f"uncaught errors in the page: {watch.problems}"


@pytest.fixture
async def api(ui: UI) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=ui.gateway) as session:
        yield session
