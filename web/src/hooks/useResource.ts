import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";

import { ApiError, isAbort } from "../lib/api";

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | undefined;
  /** A request for the current key is in flight (earlier data stays visible meanwhile). */
  loading: boolean;
  reload: () => void;
  /** Change the loaded data locally (after a write, or a live event). */
  update: (change: (data: T) => T) => void;
}

interface Result<T> {
  key: string;
  data: T | undefined;
  error: ApiError | undefined;
}

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) {
    return error;
  }
  return new ApiError(error instanceof Error ? error.message : "Something went wrong.", {
    status: 0,
    code: "client_error",
  });
}

/**
 * Loads data for `key` (null: load nothing), again whenever the key changes or on `reload()`.
 * A newer request always wins; an older answer arriving late is dropped.
 */
export function useResource<T>(key: string | null, load: (signal: AbortSignal) => Promise<T>): Resource<T> {
  const loadRef = useRef(load);
  useLayoutEffect(() => {
    loadRef.current = load;
  });
  const [nonce, setNonce] = useState(0);
  const [result, setResult] = useState<Result<T> | null>(null);
  const requestKey = key === null ? null : `${key}#${nonce}`;

  useEffect(() => {
    if (requestKey === null) {
      return;
    }
    const controller = new AbortController();
    loadRef.current(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) {
          setResult({ key: requestKey, data, error: undefined });
        }
      },
      (error: unknown) => {
        if (!controller.signal.aborted && !isAbort(error)) {
          setResult((previous) => ({ key: requestKey, data: previous?.data, error: toApiError(error) }));
        }
      },
    );
    return () => {
      controller.abort();
    };
  }, [requestKey]);

  const reload = useCallback(() => {
    setNonce((n) => n + 1);
  }, []);
  const update = useCallback((change: (data: T) => T) => {
    setResult((previous) =>
      previous?.data === undefined ? previous : { ...previous, data: change(previous.data) },
    );
  }, []);

  const current = result !== null && result.key === requestKey;
  return {
    data: requestKey === null ? undefined : result?.data,
    error: current ? result.error : undefined,
    loading: requestKey !== null && !current,
    reload,
    update,
  };
}
