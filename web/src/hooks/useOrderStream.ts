import { useEffect, useLayoutEffect, useRef, useState } from "react";

import type { ApiClient } from "../lib/api";
import { followEventStream, type StreamState } from "../lib/sse";
import { parseStatusEvent, type StatusEvent } from "../lib/types";

/**
 * Follows `GET /api/orders/stream` while signed in. `onOpen` runs on every
 * (re)connection, so the caller can re-read what it may have missed.
 */
export function useOrderStream(
  api: ApiClient,
  userId: number | null,
  onStatus: (change: StatusEvent) => void,
  onOpen?: () => void,
): StreamState {
  const [state, setState] = useState<StreamState>("connecting");
  const handlers = useRef({ onStatus, onOpen });
  useLayoutEffect(() => {
    handlers.current = { onStatus, onOpen };
  });

  useEffect(() => {
    if (userId === null) {
      return;
    }
    const controller = new AbortController();
    void followEventStream(
      {
        url: api.url("/api/orders/stream"),
        getToken: () => api.token,
        onUnauthorized: async () => (await api.refresh().catch(() => null)) !== null,
        onState: (next) => {
          setState(next);
          if (next === "open") {
            handlers.current.onOpen?.();
          }
        },
        onEvent: (event) => {
          if (event.event !== "status") {
            return;
          }
          const change = parseStatusEvent(event.data);
          if (change) {
            handlers.current.onStatus(change);
          }
        },
      },
      controller.signal,
    );
    return () => {
      controller.abort();
    };
  }, [api, userId]);

  return state;
}
