import { describe, expect, it } from "vitest";

import { ApiError, parseError, SESSION_ENDED } from "./api";
import { fieldErrors, fieldMessage, humanMessage, isSessionEnded } from "./messages";

function validation(details: unknown[]): ApiError {
  return parseError(422, { error: "raw server text", code: "validation_error", details });
}

describe("humanMessage", () => {
  it("chooses the sentence from the code, not the server's wording", () => {
    expect(humanMessage(parseError(401, { error: "invalid username or password", code: "invalid_credentials" }))).toBe(
      "That username and password do not match. Check them and try again.",
    );
    expect(humanMessage(parseError(409, { error: "username is already taken", code: "username_taken" }))).toMatch(/taken/);
  });

  it("falls back on the status, then on a generic sentence", () => {
    expect(humanMessage(parseError(503, "<html>"))).toMatch(/busy or restarting/);
    expect(humanMessage(parseError(418, {}))).toBe("Something went wrong (error 418). Try again.");
  });

  it("says how far over the limit a refused charge goes", () => {
    const error = parseError(422, {
      error: "total would exceed the limit of 1000.00",
      code: "limit_exceeded",
      details: { current_total: 900.5, requested: 200, limit: 1000 },
    });
    expect(humanMessage(error)).toBe("$200.00 would take you over your $1,000.00 limit: $99.50 is left.");
  });

  it("points at the fields when each problem is shown beside its field, so nothing is said twice", () => {
    const error = validation([
      { loc: ["body", "name"], msg: "String should have at least 1 character", type: "string_too_short" },
      { loc: ["body", "email"], msg: "Value error, must be a valid email address", type: "value_error" },
    ]);
    expect(humanMessage(error, ["name", "email"])).toBe("Check the highlighted fields.");
    expect(humanMessage(error, ["name"])).toBe("Enter an email address like name@example.org.");
    expect(humanMessage(error)).toBe("This is required.");
  });

  it("treats an ended session as its own case", () => {
    const ended = new ApiError("x", { status: 401, code: SESSION_ENDED });
    expect(isSessionEnded(ended)).toBe(true);
    expect(isSessionEnded(parseError(401, { code: "invalid_credentials" }))).toBe(false);
    expect(humanMessage(ended)).toMatch(/Sign in again/);
  });
});

describe("fieldMessage", () => {
  it.each([
    [{ field: "name", msg: "String should have at least 1 character", type: "string_too_short" }, "This is required."],
    [{ field: "mobile", msg: "String should have at least 5 characters", type: "string_too_short" }, "Use at least 5 characters."],
    [{ field: "name", msg: "String should have at most 100 characters", type: "string_too_long" }, "Use at most 100 characters."],
    [{ field: "username", msg: "String should match pattern", type: "string_pattern_mismatch" }, "Use only letters, digits, '_', '.' or '-'."],
    [{ field: "stock_quantity", msg: "Input should be greater than or equal to 0", type: "greater_than_equal" }, "Enter 0 or more."],
    [{ field: "price", msg: "Decimal input should have no more than 2 decimal places", type: "decimal_max_places" }, "Use at most two decimals, like 49.99."],
    [{ field: "amount", msg: "Value error, amount must be greater than 0", type: "value_error" }, "Enter an amount above 0."],
    [{ field: "email", msg: "Value error, must be a valid email address", type: "value_error" }, "Enter an email address like name@example.org."],
    [{ field: "x", msg: "something odd", type: "weird" }, "Something odd."],
  ])("%o → %s", (detail, text) => {
    expect(fieldMessage(detail)).toBe(text);
  });
});

describe("fieldErrors", () => {
  it("gives each field its first problem, wherever the value came from", () => {
    const error = validation([
      { loc: ["body", "email"], msg: "Value error, not an email address", type: "value_error" },
      { loc: ["body", "email"], msg: "second", type: "x" },
      { loc: ["query", "limit"], msg: "Input should be less than or equal to 100", type: "less_than_equal" },
      "junk",
    ]);
    expect(fieldErrors(error)).toEqual({ email: "Enter an email address like name@example.org.", limit: "Enter 100 or less." });
  });

  it("is empty for other errors and for none", () => {
    expect(fieldErrors(parseError(409, { code: "email_taken" }))).toEqual({});
    expect(fieldErrors(null)).toEqual({});
  });
});
