import { createContext, use, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";

import type { ApiClient, Session } from "../lib/api";
import { readClaims } from "../lib/jwt";
import type { SessionChange } from "../lib/tabs";

export interface Auth {
  api: ApiClient;
  session: Session | null;
  /** True until the refresh cookie has been tried on page load. */
  restoring: boolean;
  /** The server ended the session under the person (expired, revoked): the page stays, a panel asks to sign in again. */
  ended: boolean;
  /** Who was signed in last, to offer signing them in again. */
  lastUsername: string | null;
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

interface State {
  session: Session | null;
  ended: boolean;
  lastUsername: string | null;
}

/** The next state after a session change (here or in another tab). */
export function nextState(previous: State, session: Session | null, change: SessionChange): State {
  return {
    session,
    ended: session === null && (change === "ended" || (previous.ended && change !== "signed-out")),
    lastUsername: session?.username ?? previous.lastUsername,
  };
}

/**
 * The signed-in user. The access token lives in memory only (in the API client);
 * on load the HttpOnly refresh cookie is traded for a new one, so a reload keeps
 * the session without the token ever touching storage. Tabs share the session
 * (lib/tabs.ts): signing in or out in one does it in all.
 */
export function AuthProvider({ api, children }: { api: ApiClient; children: ReactNode }) {
  const [state, setState] = useState<State>({ session: api.current, ended: false, lastUsername: api.current?.username ?? null });
  // Without a hint of a session there is nothing to restore: no request, no 401 in the console.
  const [restoring, setRestoring] = useState(api.current === null && api.mayHaveSession);
  const started = useRef(false);

  useEffect(
    () =>
      api.subscribe((session, change) => {
        setState((previous) => nextState(previous, session, change));
      }),
    [api],
  );

  useEffect(() => {
    if (started.current || !restoring) {
      return;
    }
    started.current = true;
    api
      .refresh()
      .catch(() => null)
      .finally(() => {
        setRestoring(false);
      });
  }, [api, restoring]);

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
      api.setSession(null, "signed-out");
    }
  }, [api]);

  const value = useMemo<Auth>(
    () => ({ api, ...state, restoring, isAdmin: roleOf(state.session) === "admin", signIn, register, signOut }),
    [api, state, restoring, signIn, register, signOut],
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
