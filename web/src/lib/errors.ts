/**
 * Failures of calls to the gateway: the platform's error body `{error, code,
 * request_id, details}` and its headers as an {@link ApiError}. What a person
 * reads is chosen from the code (lib/messages.ts).
 */

export interface ErrorBody {
  error?: unknown;
  code?: unknown;
  request_id?: unknown;
  details?: unknown;
}

export interface ApiErrorInit {
  status: number;
  code: string;
  details?: unknown;
  requestId?: string | null;
  /** Seconds the server asked us to wait (`Retry-After`), or null. */
  retryAfter?: number | null;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  readonly requestId: string | null;
  readonly retryAfter: number | null;

  constructor(message: string, { status, code, details = null, requestId = null, retryAfter = null }: ApiErrorInit) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }
}

/** The code of the error a call fails with when the session ended under it (refresh refused). */
export const SESSION_ENDED = "session_ended";

const FALLBACK_MESSAGES: Record<number, string> = {
  0: "Cannot reach ShopMesh. Check your connection and try again.",
  400: "The request was not understood.",
  401: "Please sign in again.",
  403: "You are not allowed to do that.",
  404: "Not found.",
  409: "That conflicts with the current state.",
  413: "That is too large.",
  422: "Some fields are not valid.",
  429: "Too many attempts. Wait a moment and try again.",
  502: "A ShopMesh service answered badly. Try again shortly.",
  503: "ShopMesh is busy or restarting. Try again shortly.",
  504: "ShopMesh took too long to answer. Try again.",
};

function fallbackMessage(status: number): string {
  return FALLBACK_MESSAGES[status] ?? `Something went wrong (HTTP ${status}).`;
}

function codeFor(status: number): string {
  return status === 0 ? "network_error" : `http_${status}`;
}

/** `Retry-After` in seconds (it may be a number of seconds or an HTTP date), or null. */
export function retryAfterSeconds(value: string | null, now = Date.now()): number | null {
  const text = value?.trim() ?? "";
  if (/^\d+$/.test(text)) {
    return Number(text);
  }
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}

/** The platform's error body `{error, code, request_id, details}` (and its headers) → an ApiError. */
export function parseError(status: number, body: unknown, headers: Headers | null = null): ApiError {
  const data: ErrorBody = typeof body === "object" && body !== null ? body : {};
  const message = typeof data.error === "string" && data.error.trim() ? data.error : fallbackMessage(status);
  const code = typeof data.code === "string" && data.code ? data.code : codeFor(status);
  const rid = typeof data.request_id === "string" ? data.request_id : (headers?.get("X-Request-ID") ?? null);
  const retryAfter = retryAfterSeconds(headers?.get("Retry-After") ?? null);
  return new ApiError(message, { status, code, details: data.details ?? null, requestId: rid, retryAfter });
}

export function networkError(): ApiError {
  return new ApiError(fallbackMessage(0), { status: 0, code: "network_error" });
}
