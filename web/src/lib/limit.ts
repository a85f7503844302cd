/** The payments limit bar: how much of the per-user limit is used, in exact cents. */

import { fromCents, toCents } from "./money";

export interface PaymentSummary {
  total: number;
  unpaid_total: number;
  limit: number;
  remaining: number;
  scope: "all" | "unpaid";
}

export type LimitLevel = "ok" | "warning" | "full";

export interface LimitBar {
  /** What counts against the limit (all transactions, or only the unpaid ones). */
  used: number;
  remaining: number;
  limit: number;
  /** Bar segments in percent of the limit, each clamped so together they never pass 100. */
  paidPercent: number;
  unpaidPercent: number;
  usedPercent: number;
  level: LimitLevel;
}

const WARNING_AT = 0.8;

function percent(partCents: number, limitCents: number): number {
  if (limitCents <= 0) {
    return partCents > 0 ? 100 : 0;
  }
  return Math.min(100, Math.max(0, (partCents / limitCents) * 100));
}

export function limitBar(summary: PaymentSummary): LimitBar {
  const limitCents = toCents(summary.limit);
  const unpaidCents = toCents(summary.unpaid_total);
  const paidCents = Math.max(0, toCents(summary.total) - unpaidCents);
  // With scope "unpaid" paying frees room again, so paid money is not shown as used.
  const countedPaid = summary.scope === "all" ? paidCents : 0;
  const usedCents = countedPaid + unpaidCents;
  const remainingCents = Math.max(0, limitCents - usedCents);
  const paidPercent = percent(countedPaid, limitCents);
  const unpaidPercent = Math.min(100 - paidPercent, percent(unpaidCents, limitCents));
  let level: LimitLevel = "ok";
  if (remainingCents === 0) {
    level = "full";
  } else if (usedCents >= limitCents * WARNING_AT) {
    level = "warning";
  }
  return {
    used: fromCents(usedCents),
    remaining: fromCents(remainingCents),
    limit: fromCents(limitCents),
    paidPercent,
    unpaidPercent,
    usedPercent: paidPercent + unpaidPercent,
    level,
  };
}

/** Whether a new charge of `amount` fits; the server still decides (it is the one that locks). */
export function fitsLimit(summary: PaymentSummary, amount: number): boolean {
  return toCents(amount) <= toCents(limitBar(summary).remaining);
}
