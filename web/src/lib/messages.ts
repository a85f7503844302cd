/**
 * What a person reads when something fails: chosen from the error's code (the
 * server's wording is for developers), one sentence per problem, and field
 * problems said once, next to their field.
 */

import { ApiError, SESSION_ENDED } from "./errors";
import { formatMoney } from "./money";

const BY_CODE: Record<string, string> = {
  network_error: "Cannot reach ShopMesh. Check your connection; we will try again.",
  invalid_credentials: "That username and password do not match. Check them and try again.",
  username_taken: "That username is taken. Choose another one.",
  invalid_reset_token: "This password reset link is invalid, used or expired. Ask for a new one below.",
  email_taken: "Another profile already uses that email address.",
  email_required: "Add an email address to your profile.",
  customer_exists: "That account already has a profile.",
  customer_not_found: "That profile no longer exists.",
  sku_taken: "Another product already uses that SKU.",
  product_not_found: "That product is no longer in the shop.",
  order_not_found: "That order no longer exists.",
  already_dispatched: "That order has already been dispatched, so it can no longer be cancelled.",
  delivery_not_failed: "That delivery is no longer failed: it may have been retried already.",
  delivery_not_found: "That delivery no longer exists.",
  total_too_large: "That order is too large. Order fewer items at once.",
  out_of_stock: "There is not enough stock for that.",
  limit_exceeded: "That would take you over your spending limit.",
  idempotency_key_reused: "That request was already sent with different content. Try again.",
  [SESSION_ENDED]: "Your session has ended. Sign in again to carry on.",
  token_expired: "Your session has ended. Sign in again to carry on.",
  invalid_token: "Your session is not valid any more. Sign in again.",
  invalid_refresh_token: "Your session has ended. Sign in again to carry on.",
  refresh_token_reused: "Your session has ended. Sign in again to carry on.",
  forbidden: "Your account cannot do that.",
  payload_too_large: "That is too large to send.",
  invalid_json: "ShopMesh could not read that request. Reload the page and try again.",
  rate_limited: "Too many attempts in a short time.",
  service_unavailable: "ShopMesh is busy or restarting. Try again in a moment.",
  bad_gateway: "A part of ShopMesh did not answer properly. Try again in a moment.",
  gateway_timeout: "ShopMesh took too long to answer. Try again.",
  internal_error: "Something went wrong on our side. Try again in a moment.",
};

const BY_STATUS: Record<number, string> = {
  0: BY_CODE.network_error ?? "",
  401: "Sign in to do that.",
  403: "Your account cannot do that.",
  404: "That could not be found.",
  409: "That clashes with a change made meanwhile. Reload and try again.",
  413: "That is too large to send.",
  422: "Some of what you entered is not valid. Check it and try again.",
  429: "Too many attempts in a short time.",
  500: "Something went wrong on our side. Try again in a moment.",
  502: "A part of ShopMesh did not answer properly. Try again in a moment.",
  503: "ShopMesh is busy or restarting. Try again in a moment.",
  504: "ShopMesh took too long to answer. Try again.",
};

const FIELD_NAMES: Record<string, string> = {
  username: "username",
  password: "password",
  email: "email address",
  mobile: "mobile number",
  images: "image address",
  stock_quantity: "stock",
};

interface Detail {
  field: string;
  msg: string;
  type: string;
}

function details(raw: unknown): Detail[] {
  if (!Array.isArray(raw)) {
    return [];
  }
  const found: Detail[] = [];
  for (const item of raw) {
    if (typeof item !== "object" || item === null) {
      continue;
    }
    const { loc, msg, type } = item as { loc?: unknown; msg?: unknown; type?: unknown };
    if (!Array.isArray(loc) || typeof msg !== "string") {
      continue;
    }
    const names = loc.filter((part): part is string => typeof part === "string" && !["body", "query", "path", "header"].includes(part));
    found.push({ field: names[0] ?? "", msg, type: typeof type === "string" ? type : "" });
  }
  return found;
}

function numberIn(text: string): string | null {
  return /-?\d+(\.\d+)?/.exec(text)?.[0] ?? null;
}

function sentence(text: string): string {
  const trimmed = text.trim().replace(/^Value error, /, "");
  if (!trimmed) {
    return "Check this value.";
  }
  const first = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** One field's problem, in words a person acts on. */
export function fieldMessage({ field, msg, type }: Detail): string {
  const n = numberIn(msg);
  const what = FIELD_NAMES[field] ?? "value";
  switch (type) {
    case "missing":
      return "This is required.";
    case "string_too_short":
      return n === "1" ? "This is required." : `Use at least ${n ?? "a few"} characters.`;
    case "string_too_long":
      return `Use at most ${n ?? "fewer"} characters.`;
    case "string_pattern_mismatch":
      return field === "username" ? "Use only letters, digits, '_', '.' or '-'." : `This ${what} is not in the expected form.`;
    case "greater_than":
      return `Enter a number above ${n ?? "0"}.`;
    case "greater_than_equal":
      return `Enter ${n ?? "0"} or more.`;
    case "less_than":
      return `Enter a number below ${n ?? "the maximum"}.`;
    case "less_than_equal":
      return `Enter ${n ?? "the maximum"} or less.`;
    case "decimal_max_places":
      return "Use at most two decimals, like 49.99.";
    case "int_parsing":
    case "int_from_float":
      return "Enter a whole number.";
    case "float_parsing":
    case "decimal_parsing":
      return "Enter a number, like 49.99.";
    case "url_parsing":
    case "url_scheme":
      return "Enter a full address that starts with http:// or https://.";
    default:
      break;
  }
  if (/e-?mail/i.test(msg) || field === "email") {
    return "Enter an email address like name@example.org.";
  }
  if (/greater than 0/i.test(msg)) {
    return "Enter an amount above 0.";
  }
  return sentence(msg);
}

/** Each field's first problem (`body.email` → `email`), for the messages under the fields. */
export function fieldErrors(error: ApiError | null | undefined): Record<string, string> {
  const found: Record<string, string> = {};
  if (error?.code !== "validation_error") {
    return found;
  }
  for (const detail of details(error.details)) {
    if (detail.field && !(detail.field in found)) {
      found[detail.field] = fieldMessage(detail);
    }
  }
  return found;
}

function limitMessage(raw: unknown): string | null {
  const { current_total: total, requested, limit } = (raw ?? {}) as Record<string, unknown>;
  if (typeof total !== "number" || typeof requested !== "number" || typeof limit !== "number") {
    return null;
  }
  const left = Math.max(0, limit - total);
  return `${formatMoney(requested)} would take you over your ${formatMoney(limit)} limit: ${formatMoney(left)} is left.`;
}

/**
 * The sentence for an error. `shownFields` are the fields whose messages the form
 * already shows beside them: the summary then only points there, saying nothing twice.
 */
export function humanMessage(error: ApiError | string, shownFields: readonly string[] = []): string {
  if (typeof error === "string") {
    return error;
  }
  if (error.code === "validation_error") {
    const problems = details(error.details);
    const elsewhere = problems.filter((p) => !shownFields.includes(p.field));
    if (problems.length > 0 && elsewhere.length === 0) {
      return problems.length === 1 ? "Check the highlighted field." : "Check the highlighted fields.";
    }
    const first = elsewhere[0];
    return first ? fieldMessage(first) : "Some of what you entered is not valid. Check it and try again.";
  }
  if (error.code === "limit_exceeded") {
    return limitMessage(error.details) ?? BY_CODE.limit_exceeded ?? "";
  }
  return BY_CODE[error.code] ?? BY_STATUS[error.status] ?? `Something went wrong (error ${error.status}). Try again.`;
}

/** Errors a person cannot act on beside the form (the session panel or a banner says them). */
export function isSessionEnded(error: ApiError | string | null | undefined): boolean {
  return error instanceof ApiError && error.code === SESSION_ENDED;
}
