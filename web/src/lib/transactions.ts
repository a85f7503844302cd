/** The payments list: which transactions are open, paid or voided (a cancelled order's charge). */

import { sumMoney } from "./money";
import type { Transaction } from "./types";

export type TransactionFilter = "all" | "unpaid" | "paid";

export type TransactionState = "voided" | "paid" | "unpaid";

/** Voided comes first: a voided charge counts toward nothing, paid or not. */
export function transactionState(tx: Pick<Transaction, "is_paid" | "is_voided">): TransactionState {
  if (tx.is_voided) {
    return "voided";
  }
  return tx.is_paid ? "paid" : "unpaid";
}

/** What "Pay all" pays: unpaid and not voided. */
export function unpaidOf(all: readonly Transaction[]): Transaction[] {
  return all.filter((tx) => transactionState(tx) === "unpaid");
}

export function unpaidTotal(all: readonly Transaction[]): number {
  return sumMoney(unpaidOf(all).map((tx) => tx.amount));
}

/** The rows a filter shows: "unpaid" and "paid" leave voided ones out ("all" shows them, struck through). */
export function filterTransactions(all: readonly Transaction[], filter: TransactionFilter): Transaction[] {
  return filter === "all" ? [...all] : all.filter((tx) => transactionState(tx) === filter);
}
