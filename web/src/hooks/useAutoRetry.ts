import { useEffect } from "react";

import type { ApiError } from "../lib/api";

/** Pause between tries while a failure lasts (unless the server says how long). */
export const RETRY_MS = 5000;

/** Failures that may go away on their own: no network, a service restarting. */
export function isTransient(error: ApiError | undefined): boolean {
  return error !== undefined && [0, 502, 503, 504].includes(error.status);
}

/**
 * While `error` is transient, calls `retry` as soon as the network comes back,
 * and otherwise after a pause (the server's Retry-After when it gave one).
 */
export function useAutoRetry(error: ApiError | undefined, retry: () => void): void {
  const transient = isTransient(error);
  const wait = error?.retryAfter != null ? error.retryAfter * 1000 : RETRY_MS;
  useEffect(() => {
    if (!transient) {
      return;
    }
    const timer = window.setTimeout(retry, wait);
    window.addEventListener("online", retry);
    return () => {
      window.clearTimeout(timer);
      window.removeEventListener("online", retry);
    };
  }, [transient, retry, wait, error]);
}
