import { describe, expect, it } from "vitest";

import { filterTransactions, transactionState, unpaidOf, unpaidTotal } from "./transactions";
import type { Transaction } from "./types";

function tx(id: number, amount: number, { paid = false, voided = false, order = null as number | null } = {}): Transaction {
  return { id, user_id: 1, amount, description: "", is_paid: paid, is_voided: voided, order_id: order, created_at: "t" };
}

const LIST = [tx(1, 10.1), tx(2, 20.2, { order: 7 }), tx(3, 30, { paid: true }), tx(4, 99.99, { voided: true, order: 8 }), tx(5, 5, { paid: true, voided: true })];

describe("transactions", () => {
  it("says voided before paid or unpaid: a voided charge counts toward nothing", () => {
    expect(LIST.map(transactionState)).toEqual(["unpaid", "unpaid", "paid", "voided", "voided"]);
  });

  it("pays all of the unpaid ones, order charges included, voided ones not", () => {
    expect(unpaidOf(LIST).map((t) => t.id)).toEqual([1, 2]);
    expect(unpaidTotal(LIST)).toBe(30.3);
  });

  it("filters, showing voided ones only under all", () => {
    expect(filterTransactions(LIST, "all").map((t) => t.id)).toEqual([1, 2, 3, 4, 5]);
    expect(filterTransactions(LIST, "unpaid").map((t) => t.id)).toEqual([1, 2]);
    expect(filterTransactions(LIST, "paid").map((t) => t.id)).toEqual([3]);
  });
});
