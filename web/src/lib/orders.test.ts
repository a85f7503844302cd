import { describe, expect, it } from "vitest";

import { applyStatus, canCancel, chargeNote, declineText, needsDetails, parseStatusEvent, PlacedOrders, statusNote, targetOrder } from "./orders";
import type { Order, OrderStatus } from "./types";

const order = (id: number, status: OrderStatus = "Created") =>
  ({ id, status, updated_at: "t0", decline_reason: null, transaction_id: null }) as Order;

describe("order status events", () => {
  it("parses the stream's status data", () => {
    expect(parseStatusEvent('{"order_id":3,"status":"Dispatched","updated_at":"t1"}')).toEqual({
      order_id: 3,
      status: "Dispatched",
      updated_at: "t1",
    });
  });

  it("knows the saga's statuses, and a decline's reason when the event carries it", () => {
    expect(parseStatusEvent('{"order_id":3,"status":"Paid","updated_at":"t1"}')?.status).toBe("Paid");
    expect(parseStatusEvent('{"order_id":3,"status":"Payment declined","updated_at":"t1","decline_reason":"limit_exceeded"}')).toEqual({
      order_id: 3,
      status: "Payment declined",
      updated_at: "t1",
      decline_reason: "limit_exceeded",
    });
  });

  it.each(["nope", "null", '{"order_id":"3","status":"Dispatched"}', '{"order_id":3,"status":"Lost"}', '{"order_id":3,"status":"payment declined"}'])(
    "refuses %j",
    (data) => {
      expect(parseStatusEvent(data)).toBeNull();
    },
  );

  it("changes only the named order's status", () => {
    const next = applyStatus([order(1), order(2)], { order_id: 2, status: "Paid", updated_at: "t1" });
    expect(next?.map((o) => o.status)).toEqual(["Created", "Paid"]);
    expect(next?.[1]?.updated_at).toBe("t1");
  });

  it("follows the saga forward and never back (a list read meanwhile may be newer than an event)", () => {
    let list: Order[] = [order(1)];
    for (const status of ["Paid", "Dispatched"] as const) {
      list = applyStatus(list, { order_id: 1, status, updated_at: status }) ?? [];
    }
    expect(list[0]?.status).toBe("Dispatched");
    const late = applyStatus(list, { order_id: 1, status: "Paid", updated_at: "late" });
    expect(late?.[0]).toMatchObject({ status: "Dispatched", updated_at: "Dispatched" });
    const declined = applyStatus([order(2, "Paid")], { order_id: 2, status: "Payment declined", updated_at: "t2" });
    expect(declined?.[0]?.status).toBe("Paid");
  });

  it("keeps the decline's reason the event brings", () => {
    const next = applyStatus([order(1)], { order_id: 1, status: "Payment declined", updated_at: "t1", decline_reason: "limit_exceeded" });
    expect(next?.[0]).toMatchObject({ status: "Payment declined", decline_reason: "limit_exceeded" });
  });

  it("says when the order is not in the list", () => {
    expect(applyStatus([order(1)], { order_id: 9, status: "Dispatched", updated_at: "t1" })).toBeNull();
  });

  it("reads the order again for a decline whose reason the event does not say", () => {
    expect(needsDetails({ order_id: 1, status: "Payment declined", updated_at: "t" })).toBe(true);
    expect(needsDetails({ order_id: 1, status: "Payment declined", updated_at: "t", decline_reason: "limit_exceeded" })).toBe(false);
    expect(needsDetails({ order_id: 1, status: "Paid", updated_at: "t" })).toBe(false);
  });
});

describe("what an order's state says", () => {
  it("can be cancelled until dispatched, but not once declined", () => {
    expect((["Created", "Paid", "Payment declined", "Dispatched", "Cancelled"] as const).filter(canCancel)).toEqual(["Created", "Paid"]);
  });

  it("explains each step of the saga", () => {
    expect(statusNote(order(1, "Created"), true)).toBe("Awaiting payment");
    expect(statusNote(order(1, "Paid"))).toBe("Paid. Preparing for dispatch");
    expect(statusNote({ status: "Payment declined", decline_reason: "limit_exceeded", transaction_id: null })).toBe(
      "Payment declined: it would take you over your spending limit. Nothing was charged and the items are back in stock.",
    );
    expect(statusNote(order(1, "Dispatched"))).toBeNull();
  });

  it("never says a created order awaits payment in a shop that does not charge orders", () => {
    expect(statusNote(order(1, "Created"), false)).toBe("Preparing for dispatch");
    expect(statusNote(order(1, "Created"))).toBe("Placed"); // the shop's mode not known yet
    expect(statusNote(order(1, "Cancelled"), false)).toBe("Cancelled. The items are back in stock.");
    expect(chargeNote(false)).toBe("Nothing is charged to your payments: this shop ships orders without a charge.");
    expect(chargeNote(true)).toBe("Charged to your payments when you place the order.");
    expect(chargeNote(undefined)).toBe(chargeNote(true));
  });

  it("says whether a cancelled order's charge was voided", () => {
    expect(statusNote({ status: "Cancelled", decline_reason: null, transaction_id: 7 })).toContain("charge is voided");
    expect(statusNote({ status: "Cancelled", decline_reason: null, transaction_id: null })).not.toContain("charge");
  });

  it("reads reasons it does not know in words too", () => {
    expect(declineText("limit_exceeded")).toBe("it would take you over your spending limit");
    expect(declineText("account_frozen")).toBe("payments refused it (account frozen)");
    expect(declineText(null)).toBe("payments refused it");
  });
});

describe("links to an order", () => {
  it("finds the order a location's hash names", () => {
    expect(targetOrder("#order-12")).toBe(12);
    expect(targetOrder("#order-")).toBeNull();
    expect(targetOrder("#main")).toBeNull();
    expect(targetOrder("")).toBeNull();
  });
});

describe("PlacedOrders", () => {
  it("hands the orders just placed over, newest first, for a short while", () => {
    const placed = new PlacedOrders(1000);
    expect(placed.recent(0)).toBeNull();
    placed.remember([order(4), order(5)], 100);
    expect(placed.recent(600)?.map((o) => o.id)).toEqual([5, 4]);
    expect(placed.recent(1101)).toBeNull();
  });
});
