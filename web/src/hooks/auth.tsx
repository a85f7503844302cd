import { createContext, use, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";

import type { ApiClient, Session } from "../lib/api";
import { readClaims } from "../lib/jwt";

export interface Auth {
  api: ApiClient;
  session: Session | null;
  /** True until the refresh cookie has been tried on page load. */
  restoring: boolean;
  isAdmin: boolean;
  signIn: (username: string, password: string) => Promise<Session>;
  register: (username: string, password: string) => Promise<Session>;
  signOut: () => Promise<void>;
}

const AuthContext = createContext<Auth | null>(null);

function roleOf(session: Session | null): string | null {
  if (!session) {
    return null;
  }
  return session.role || readClaims(session.token)?.role || null;
}

/**
 * The signed-in user. The access token lives in memory only (in the API client);
 * on load the HttpOnly refresh cookie is traded for a new one, so a reload keeps
 * the session without the token ever touching storage.
 */
export function AuthProvider({ api, children }: { api: ApiClient; children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(api.current);
  const [restoring, setRestoring] = useState(api.current === null);
  const started = useRef(false);

  useEffect(() => api.subscribe(setSession), [api]);

  useEffect(() => {
    if (started.current) {
      return;
    }
    started.current = true;
    api
      .refresh()
      .catch(() => null)
      .finally(() => {
        setRestoring(false);
      });
  }, [api]);

  const signIn = useCallback(
    async (username: string, password: string) => {
      const signed = await api.post<Session>("/auth/login", { username, password }, { auth: false });
      api.setSession(signed);
      return signed;
    },
    [api],
  );

  const register = useCallback(
    async (username: string, password: string) => {
      const signed = await api.post<Session>("/auth/register", { username, password }, { auth: false });
      api.setSession(signed);
      return signed;
    },
    [api],
  );

  const signOut = useCallback(async () => {
    try {
      await api.post("/auth/logout", undefined, { auth: false });
    } finally {
      api.setSession(null);
    }
  }, [api]);

  const value = useMemo<Auth>(
    () => ({ api, session, restoring, isAdmin: roleOf(session) === "admin", signIn, register, signOut }),
    [api, session, restoring, signIn, register, signOut],
  );
  return <AuthContext value={value}>{children}</AuthContext>;
}

export function useAuth(): Auth {
  const auth = use(AuthContext);
  if (!auth) {
    throw new Error("useAuth outside AuthProvider");
  }
  return auth;
}
