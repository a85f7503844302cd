/**
 * Orders through the saga (DESIGN.md "The order saga"): Created → Paid →
 * Dispatched, or Payment declined, or Cancelled; what each state says to the
 * shopper, and live status changes applied to a list in order.
 */

import type { Order, OrderStatus, StatusEvent } from "./types";

export const ORDER_STATUSES: readonly OrderStatus[] = ["Created", "Paid", "Payment declined", "Dispatched", "Cancelled"];

/** How far along the saga a status is: a change never moves an order back. */
const STAGE: Record<OrderStatus, number> = { Created: 0, Paid: 1, "Payment declined": 1, Dispatched: 2, Cancelled: 2 };

function isOrderStatus(value: unknown): value is OrderStatus {
  return typeof value === "string" && (ORDER_STATUSES as readonly string[]).includes(value);
}

/** The `data` of an `event: status` message, or null when it is not one. */
export function parseStatusEvent(data: string): StatusEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) {
    return null;
  }
  const event = value as Record<string, unknown>;
  const orderId = event.order_id ?? event.id;
  if (typeof orderId !== "number" || !isOrderStatus(event.status)) {
    return null;
  }
  const change: StatusEvent = {
    order_id: orderId,
    status: event.status,
    updated_at: typeof event.updated_at === "string" ? event.updated_at : new Date().toISOString(),
  };
  if (typeof event.decline_reason === "string") {
    change.decline_reason = event.decline_reason;
  }
  return change;
}

/**
 * Apply a live status change to a list of orders: a new array when the order is
 * in it (unchanged when the change is one it has already passed, as a list read
 * meanwhile can be newer than an event), null when it is not (the caller reloads).
 */
export function applyStatus(orders: readonly Order[], change: StatusEvent): Order[] | null {
  const index = orders.findIndex((order) => order.id === change.order_id);
  const current = orders[index];
  if (!current) {
    return null;
  }
  const next = [...orders];
  if (current.status === change.status || STAGE[change.status] <= STAGE[current.status]) {
    return next;
  }
  next[index] = {
    ...current,
    status: change.status,
    updated_at: change.updated_at,
    decline_reason: change.decline_reason ?? current.decline_reason,
  };
  return next;
}

/** Whether the page must read the order again to say all about this change (the decline's reason). */
export function needsDetails(change: StatusEvent): boolean {
  return change.status === "Payment declined" && !change.decline_reason;
}

/** A shopper may cancel until the order is dispatched; a declined one has nothing left to undo. */
export function canCancel(status: OrderStatus): boolean {
  return status === "Created" || status === "Paid";
}

const DECLINE_REASONS: Record<string, string> = {
  limit_exceeded: "it would take you over your spending limit",
};

/** Why a payment was declined, as the end of a sentence ("...: it would take you over your spending limit."). */
export function declineText(reason: string | null | undefined): string {
  if (!reason) {
    return "payments refused it";
  }
  return DECLINE_REASONS[reason] ?? `payments refused it (${reason.replaceAll("_", " ")})`;
}

/**
 * The line under an order that says where it stands, in words; null when the badge says enough.
 * `paymentRequired` is whether orders are charged before they ship (undefined: not known yet).
 */
export function statusNote(order: Pick<Order, "status" | "decline_reason" | "transaction_id">, paymentRequired?: boolean): string | null {
  switch (order.status) {
    case "Created":
      if (paymentRequired === undefined) {
        return "Placed";
      }
      return paymentRequired ? "Awaiting payment" : "Preparing for dispatch";
    case "Paid":
      return "Paid. Preparing for dispatch";
    case "Payment declined":
      return `Payment declined: ${declineText(order.decline_reason)}. Nothing was charged and the items are back in stock.`;
    case "Cancelled":
      return order.transaction_id === null ? "Cancelled. The items are back in stock." : "Cancelled. Its charge is voided and the items are back in stock.";
    case "Dispatched":
      return null;
  }
}

/** What the cart says about paying for a checkout (`paymentRequired` undefined: not known yet). */
export function chargeNote(paymentRequired: boolean | undefined): string {
  return paymentRequired === false
    ? "Nothing is charged to your payments: this shop ships orders without a charge."
    : "Charged to your payments when you place the order.";
}

/** Where a payment links to see its order. */
export function orderHref(orderId: number): string {
  return `/orders#order-${orderId}`;
}

/** The order a location's `#order-<id>` names, or null. */
export function targetOrder(hash: string): number | null {
  const match = /^#order-(\d+)$/.exec(hash);
  return match ? Number(match[1]) : null;
}

/**
 * The orders just placed, handed from the cart to the orders page so they show at
 * once (Created) while the page reads the list; kept for a short while only.
 */
export class PlacedOrders {
  private placed: { orders: Order[]; at: number } | null = null;

  constructor(private readonly keepMs = 30_000) {}

  remember(orders: readonly Order[], now = Date.now()): void {
    // Newest first, as the list reads.
    this.placed = { orders: [...orders].sort((a, b) => b.id - a.id), at: now };
  }

  recent(now = Date.now()): Order[] | null {
    if (this.placed === null || now - this.placed.at > this.keepMs) {
      return null;
    }
    return this.placed.orders;
  }
}

export const placedOrders = new PlacedOrders();
