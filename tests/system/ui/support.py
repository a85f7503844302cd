"""What the browser tests share: the browser, people signing in, and the checks every page meets.

Each test acts as a person would (labels, buttons, what the page shows) and
waits for what it expects to appear, never for a fixed time.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Request, Response
from playwright.async_api import expect as expect

from tests.system import commerce
from tests.system.test_payments_flow import call

REPO = Path(__file__).resolve().parents[3]
DIST = REPO / "web" / "dist"
SHOTS = REPO / "web" / "screenshots"
# Screenshots are for a person to look at, not checked: taken only when asked for (they
# cost Chromium a full-page render and PNG each, about a tenth of the UI modules' CPU).
TAKE_SHOTS = os.environ.get("SHOPMESH_UI_SCREENSHOTS", "") not in ("", "0")
# axe-core comes from the UI's own npm dev dependencies (web/package.json).
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
# Without the first flags the closed network makes Chromium stall on start. The last one
# makes any address not on this machine unknown at once: product pictures other tests (and
# shop owners) link from the web fail there and then, instead of waiting on a network the
# test machine does not have (the UI shows its picture tile for a picture that fails).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
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


@dataclass(frozen=True)
class Device:
    name: str
    width: int
    height: int
    mobile: bool = False


DESKTOP = Device("desktop", 1280, 860)
# A desktop window and a phone, both as narrow as small phones are.
NARROW = Device("narrow-desktop", 360, 800)
PHONE = Device("phone", 360, 740, mobile=True)


async def new_context(browser: Browser, device: Device = DESKTOP) -> BrowserContext:
    """A fresh browser profile; its requests come from an address of its own.

    The gateway limits logins per address (10 a minute): each context sends its
    own ``X-Forwarded-For`` (the test platform trusts it), so tests do not
    share one allowance. A header set on the context, not a route: any route
    makes Playwright hold every request of the context for its driver and turn
    Chromium's HTTP cache off, so each page load would fetch and compile the
    whole app again.
    """
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    context = await browser.new_context(
        viewport={"width": device.width, "height": device.height},
        is_mobile=device.mobile,
        has_touch=device.mobile,
        # The UI honours it (styles.css): no endless pulse or spinner for the software
        # compositor to paint at 60 frames a second while a test waits.
        reduced_motion="reduce",
        extra_http_headers={"x-forwarded-for": address},
    )
    context.set_default_timeout(WAIT_MS)
    return context


# Anything not on this machine (CHROMIUM_ARGS makes its name unknown): its failure is the
# closed test network's, not the UI's, so Watch does not count it.
ELSEWHERE = re.compile(r"^https?://(?!(127\.0\.0\.1|localhost)[:/])")


@dataclass
class Watch:
    """Everything a page did wrong: console errors, uncaught errors, failed requests.

    A request the app aborts itself (leaving a page ends its live stream and
    in-flight reads) is not a failure, nor one to a place not on this machine
    (ELSEWHERE); any answer of 400 or more is.
    """

    problems: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> Watch:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        return self

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium logs a failed load as an error of the page, at the address that failed.
        if message.type == "error" and not ELSEWHERE.match(message.location.get("url", "")):
            self.problems.append(f"console error: {message.text}")

    def _failed(self, request: Request) -> None:
        if request.failure != "net::ERR_ABORTED" and not ELSEWHERE.match(request.url):
            self.problems.append(f"failed: {request.method} {request.url} {request.failure}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(
                f"HTTP {response.status}: {response.request.method} {response.url}"
            )

    def take(self) -> list[str]:
        found, self.problems = self.problems, []
        return found


async def shot(page: Page, name: str) -> None:
    """A full-page screenshot to web/screenshots/<name>.png, if SHOPMESH_UI_SCREENSHOTS is set."""
    if not TAKE_SHOTS:
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# --- the checks every page state meets ------------------------------------------------------

AXE_RUN = """async () => {
  // axe's default rules (WCAG 2.x A and AA, best practices) and the experimental ones
  // (the name-versus-visible-text check is one); not the AAA ones, which are off by default.
  const experimental = axe.getRules(["experimental"]).map((rule) => rule.ruleId);
  const rules = Object.fromEntries(experimental.map((id) => [id, { enabled: true }]));
  const result = await axe.run(document, { rules, resultTypes: ["violations"] });
  return result.violations
    .filter((v) => ["critical", "serious", "moderate"].includes(v.impact))
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
}"""


# A toast still fading in is half transparent: axe would measure its contrast mid-way.
# Finite animations (not the spinner's or the live dot's endless ones) end first.
SETTLE_ANIMATIONS = """() => Promise.all(document.getAnimations()
  .filter((a) => a.effect?.getComputedTiming().endTime !== Infinity)
  .map((a) => a.finished.then(() => null, () => null)))"""


async def axe_findings(page: Page) -> list[dict[str, Any]]:
    """axe-core's critical, serious and moderate findings on the page as it is now
    (once what is appearing has finished appearing)."""
    await page.evaluate(SETTLE_ANIMATIONS)
    if not await page.evaluate("typeof axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, so the page's CSP does not block it.
        await page.evaluate(AXE.read_text())
    findings: list[dict[str, Any]] = await page.evaluate(AXE_RUN)
    return findings


# Emoji and pictographs need a font many systems lack (they show as empty boxes):
# icons are inline SVG instead.
FONT_DEPENDENT = re.compile("[\u2300-\u23ff\u25a0-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff]")


async def font_dependent_symbols(page: Page) -> list[str]:
    """Emoji and pictographs in the page's text."""
    text: str = await page.evaluate("document.body.innerText")
    return sorted(set(FONT_DEPENDENT.findall(text)))


async def sideways_overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    width: int = await page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )
    return width


@dataclass
class Audit:
    """Checks each page state and collects what fails, to report all of them at once.

    On a desktop each state is checked as it is (1280 px wide) and again in a
    window 360 px wide; a phone is 360 px wide already. Every check: no sideways
    scrolling, no critical/serious/moderate axe-core finding, a title naming the
    page, no emoji, and no console error or failed request since the previous state.
    """

    device: Device
    watch: Watch
    failures: dict[str, Any] = field(default_factory=dict)

    async def check(self, page: Page, state: str, *, requests_may_fail: bool = False) -> None:
        found: dict[str, Any] = {}
        problems = self.watch.take()
        if problems and not requests_may_fail:
            found["problems"] = problems
        if not re.search(r". · ShopMesh$", title := await page.title()):
            found["title"] = f"{title!r} does not name the page"
        if symbols := await font_dependent_symbols(page):
            found["symbols"] = symbols
        found |= await self._look(page, state)
        if self.device.width > NARROW.width:
            await page.set_viewport_size({"width": NARROW.width, "height": NARROW.height})
            narrow = await self._look(page, f"{state}-360")
            found |= {f"narrow {k}": v for k, v in narrow.items()}
            await page.set_viewport_size({"width": self.device.width, "height": self.device.height})
        if found:
            self.failures[state] = found

    async def _look(self, page: Page, name: str) -> dict[str, Any]:
        """Sideways scrolling and axe-core findings at the window's present size."""
        found: dict[str, Any] = {}
        if extra := await sideways_overflow(page):
            found["overflow_px"] = extra
        if findings := await axe_findings(page):
            found["axe"] = findings
        await shot(page, f"{self.device.name}-{name}")
        return found

    def assert_clean(self) -> None:
        assert not self.failures, json.dumps(self.failures, indent=1)


# --- people -----------------------------------------------------------------------------------


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


async def login(api: aiohttp.ClientSession, username: str, password: str) -> dict[str, Any]:
    """Signs in through the API: ``{id, username, role, token}``."""
    status, body = await call(
        api, "POST", "/auth/login", json={"username": username, "password": password}
    )
    assert status == 200, body
    return dict(body)


async def add_product(
    api: aiohttp.ClientSession,
    admin_token: str,
    *,
    name: str,
    stock: int,
    price: float = 24.5,
    **fields: Any,
) -> dict[str, Any]:
    """A rated kitchen product named ``name`` (and any other ``fields``)."""
    return await commerce.add_product(
        api,
        admin_token,
        price=price,
        stock=stock,
        name=name,
        description="Hand-thrown stoneware, dishwasher safe.",
        category="Kitchen",
        brand="Loam & Co",
        rating=4.5,
        rating_count=12,
        **fields,
    )
