import { useEffect, useState } from "react";

/**
 * Seconds left of a wait that started at `seconds` (a `Retry-After`), counting down
 * to 0; a new `key` (a new error) starts a new count.
 */
export function useCountdown(seconds: number | null | undefined, key: unknown): number {
  const [state, setState] = useState({ key, left: seconds ?? 0 });
  if (state.key !== key) {
    setState({ key, left: seconds ?? 0 });
  }
  const running = state.left > 0;
  useEffect(() => {
    if (!running) {
      return;
    }
    const timer = window.setInterval(() => {
      setState((current) => ({ ...current, left: Math.max(0, current.left - 1) }));
    }, 1000);
    return () => {
      window.clearInterval(timer);
    };
  }, [running, key]);
  return state.key === key ? state.left : (seconds ?? 0);
}
