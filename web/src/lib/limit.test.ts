import { describe, expect, it } from "vitest";

import { fitsLimit, limitBar, type PaymentSummary } from "./limit";

function summary(overrides: Partial<PaymentSummary> = {}): PaymentSummary {
  return { total: 0, unpaid_total: 0, limit: 1000, remaining: 1000, scope: "all", ...overrides };
}

describe("limitBar", () => {
  it("is empty for a new user", () => {
    const bar = limitBar(summary());
    expect(bar).toMatchObject({ used: 0, remaining: 1000, paidPercent: 0, unpaidPercent: 0, level: "ok" });
  });

  it("splits paid and unpaid money when everything counts", () => {
    const bar = limitBar(summary({ total: 900.5, unpaid_total: 200 }));
    expect(bar.used).toBe(900.5);
    expect(bar.remaining).toBe(99.5);
    expect(bar.paidPercent).toBeCloseTo(70.05);
    expect(bar.unpaidPercent).toBeCloseTo(20);
    expect(bar.level).toBe("warning");
  });

  it("counts only unpaid money when the limit's scope is unpaid", () => {
    const bar = limitBar(summary({ total: 900, unpaid_total: 100, scope: "unpaid" }));
    expect(bar.used).toBe(100);
    expect(bar.remaining).toBe(900);
    expect(bar.paidPercent).toBe(0);
    expect(bar.unpaidPercent).toBeCloseTo(10);
    expect(bar.level).toBe("ok");
  });

  it("is full at the limit, to the cent", () => {
    const bar = limitBar(summary({ total: 1000, unpaid_total: 0.1 }));
    expect(bar.remaining).toBe(0);
    expect(bar.level).toBe("full");
    expect(bar.usedPercent).toBe(100);
  });

  it("never draws past 100% even if the figures do", () => {
    const bar = limitBar(summary({ total: 1500, unpaid_total: 1500 }));
    expect(bar.paidPercent + bar.unpaidPercent).toBe(100);
    expect(bar.remaining).toBe(0);
  });

  it("copes with a zero limit", () => {
    expect(limitBar(summary({ limit: 0 })).level).toBe("full");
  });
});

describe("fitsLimit", () => {
  it("allows up to the remaining amount exactly and refuses a cent more", () => {
    const s = summary({ total: 900.5, unpaid_total: 900.5 });
    expect(fitsLimit(s, 99.5)).toBe(true);
    expect(fitsLimit(s, 99.51)).toBe(false);
  });
});
