import { useEffect, useLayoutEffect, useRef, useState } from "react";

import type { ApiClient } from "../lib/api";
import { parseStatusEvent } from "../lib/orders";
import { followEventStream, type StreamState } from "../lib/sse";
import type { StatusEvent } from "../lib/types";

/**
 * Follows `GET /api/orders/stream` while signed in. `onOpen` runs on every
 * (re)connection, so the caller can re-read what it may have missed. When the
 * browser goes offline or back online the connection is started afresh: an old
 * one may look open while nothing can come through it any more.
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
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const restart = () => {
      setGeneration((n) => n + 1);
    };
    window.addEventListener("online", restart);
    window.addEventListener("offline", restart);
    return () => {
      window.removeEventListener("online", restart);
      window.removeEventListener("offline", restart);
    };
  }, []);

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
          if (controller.signal.aborted) {
            return; // a replaced connection's last words
          }
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
  }, [api, userId, generation]);

  return state;
}
