"""What a page showed over time: every status an order's badge took, however briefly."""

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
    seen: list[str] = await page.evaluate(
        "(id) => (window.__orderStatuses ?? {})[id] ?? []", str(order_id)
    )
    return seen
