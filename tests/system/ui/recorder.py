"""What a page showed over time: every status an order's badge took, and every line its note
said, however briefly."""

from __future__ import annotations

from playwright.async_api import Page

# Installed before the app's first script: every status an order's badge shows is
# written down as it appears, however briefly, so a test can say the page went
# through Created, Paid and Dispatched without catching each in the act.
_RECORD_STATUSES = """(() => {
  const history = (window.__orderStatuses = {});
  const note = (element, status) => {
    const card = element.closest("[data-order-id]");
    if (!card || !status) return;
    const seen = (history[card.dataset.orderId] ??= []);
    if (seen[seen.length - 1] !== status) seen.push(status);
  };
  new MutationObserver((records) => {
    const changed = new Set();
    for (const record of records) {
      if (record.type === "attributes") {
        note(record.target, record.oldValue);  // each value, even one replaced before we looked
        changed.add(record.target);
        continue;
      }
      for (const node of record.addedNodes) {
        if (node.nodeType !== Node.ELEMENT_NODE) continue;
        const found = [...(node.matches("[data-status]") ? [node] : []),
                       ...node.querySelectorAll("[data-status]")];
        for (const element of found) note(element, element.getAttribute("data-status"));
      }
    }
    for (const element of changed) note(element, element.getAttribute("data-status"));
  }).observe(document, {
    subtree: true, childList: true, attributes: true,
    attributeFilter: ["data-status"], attributeOldValue: true,
  });
})();"""


async def record_order_statuses(page: Page) -> None:
    """From the next page load on, write down every status each order's badge shows."""
    await page.add_init_script(_RECORD_STATUSES)


async def order_statuses(page: Page, order_id: int | str) -> list[str]:
    """The statuses order ``order_id`` showed on this page, in order (needs the recorder)."""
    return await _history(page, "__orderStatuses", order_id)


async def _history(page: Page, record: str, order_id: int | str) -> list[str]:
    seen: list[str] = await page.evaluate(
        f"(id) => (window.{record} ?? {{}})[id] ?? []", str(order_id)
    )
    return seen


# The same for the line under each order (its `order-note`): every text it showed.
_RECORD_NOTES = """(() => {
  const history = (window.__orderNotes = {});
  const look = () => {
    for (const element of document.querySelectorAll("[data-testid=order-note]")) {
      const card = element.closest("[data-order-id]");
      if (!card) continue;
      const seen = (history[card.dataset.orderId] ??= []);
      const text = element.textContent.trim();
      if (seen[seen.length - 1] !== text) seen.push(text);
    }
  };
  new MutationObserver(look).observe(document, {
    subtree: true, childList: true, characterData: true,
  });
})();"""


async def record_order_notes(page: Page) -> None:
    """From the next page load on, write down every text each order's note shows."""
    await page.add_init_script(_RECORD_NOTES)


async def order_notes(page: Page, order_id: int | str) -> list[str]:
    """The texts order ``order_id``'s note showed on this page, in order (needs the recorder)."""
    return await _history(page, "__orderNotes", order_id)
