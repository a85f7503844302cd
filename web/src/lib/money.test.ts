import { describe, expect, it } from "vitest";

import { formatMoney, parseAmount, sumMoney, toCents } from "./money";

describe("formatMoney", () => {
  it("formats dollars with two decimals and grouping", () => {
    expect(formatMoney(1234.5)).toBe("$1,234.50");
    expect(formatMoney(0)).toBe("$0.00");
  });

  it("uses the currency it is given", () => {
    expect(formatMoney(10, "EUR")).toBe("€10.00");
  });

  it("still shows an amount whose currency code is malformed", () => {
    expect(formatMoney(5, "dollars")).toBe("5.00 dollars");
  });
});

describe("sumMoney", () => {
  it("adds to the exact cent where floats drift", () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(sumMoney([0.1, 0.2])).toBe(0.3);
    expect(sumMoney([300.5, 400, 200])).toBe(900.5);
  });

  it("is zero for nothing", () => {
    expect(sumMoney([])).toBe(0);
  });

  it("rounds to whole cents", () => {
    expect(toCents(19.99)).toBe(1999);
  });
});

describe("parseAmount", () => {
  it.each([
    ["49.99", 49.99],
    ["  250 ", 250],
    ["1,000.00", 1000],
    [".5", 0.5],
    ["+12", 12],
    ["7.", 7],
  ])("accepts %j", (text, value) => {
    expect(parseAmount(text)).toEqual({ ok: true, value });
  });

  it.each(["", "abc", "1.234", "-5", "1e3", "0", "0.00"])("refuses %j", (text) => {
    const result = parseAmount(text);
    expect(result.ok).toBe(false);
  });

  it.each([
    ["", "Enter an amount."],
    ["0", "Enter an amount above 0."],
    ["-5", "Enter an amount above 0."],
    ["-5.555", "Enter an amount above 0."],
    ["abc", "Enter a number, like 49.99."],
    ["1e3", "Enter a number, like 49.99."],
    ["1.234", "Use at most two decimals, like 49.99."],
  ])("says what is wrong with %j", (text, error) => {
    expect(parseAmount(text)).toEqual({ ok: false, error });
  });
});
