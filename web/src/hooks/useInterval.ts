import { useEffect, useLayoutEffect, useRef } from "react";

/** Calls `callback` every `ms` while `enabled`, skipping ticks while the tab is hidden. */
export function useInterval(callback: () => void, ms: number, enabled = true): void {
  const saved = useRef(callback);
  useLayoutEffect(() => {
    saved.current = callback;
  });
  useEffect(() => {
    if (!enabled) {
      return;
    }
    const timer = window.setInterval(() => {
      if (document.visibilityState !== "hidden") {
        saved.current();
      }
    }, ms);
    return () => {
      window.clearInterval(timer);
    };
  }, [ms, enabled]);
}
