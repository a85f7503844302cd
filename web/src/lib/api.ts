/**
 * The one way the UI talks to the gateway: JSON in and out, cookies included
 * (the refresh cookie), the access token kept in memory only, and every
 * failure turned into an {@link ApiError} carrying the server's `code`, its own
 * `error` text and, when it said so, how long to wait (`Retry-After`).
 * What a person reads is chosen from the code (lib/messages.ts).
 */

import { ApiError, networkError, parseError, SESSION_ENDED } from "./errors";
import { aloneTab, type SessionChange, type Tabs } from "./tabs";

/** How long a tab waits for another tab's fresh session before exchanging the cookie itself. */
const PEER_ANSWER_MS = 1500;

export { ApiError, networkError, parseError, retryAfterSeconds, SESSION_ENDED } from "./errors";
export type { ApiErrorInit, ErrorBody } from "./errors";

export interface Session {
  id: number;
  username: string;
  role: string;
  token: string;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Send the access token (default true). Public calls may still send it harmlessly. */
  auth?: boolean;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export interface ApiResponse<T> {
  data: T;
  status: number;
  headers: Headers;
}

type Listener = (session: Session | null, change: SessionChange) => void;

export function buildUrl(base: string, path: string, query?: Query): string {
  const url = new URL(base.replace(/\/+$/, "") + path);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") {
      url.searchParams.set(key, String(value));
    }
  }
  return url.toString();
}

async function readBody(response: Response): Promise<unknown> {
  if (response.status === 204) {
    return null;
  }
  const text = await response.text();
  if (!text) {
    return null;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export class ApiClient {
  private session: Session | null = null;
  /** Counts session changes, so a refresh that waited for another tab sees it happened. */
  private version = 0;
  private refreshing: Promise<Session | null> | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly fetchImpl: typeof fetch;

  constructor(
    readonly baseUrl: string,
    fetchImpl?: typeof fetch,
    private readonly tabs: Tabs = aloneTab,
  ) {
    this.fetchImpl = fetchImpl ?? fetch.bind(globalThis);
    tabs.listen(({ session, change }) => {
      this.apply(session, change);
    });
  }

  get token(): string | null {
    return this.session?.token ?? null;
  }

  get current(): Session | null {
    return this.session;
  }

  /** Whether a refresh cookie is worth trying on load: false when no tab has had a session. */
  get mayHaveSession(): boolean {
    return this.tabs.hint() !== false;
  }

  /** Notified whenever the session starts, is renewed or ends (in this tab or another). */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sets the session here and tells the other tabs. */
  setSession(session: Session | null, change: SessionChange = session ? "signed-in" : "signed-out"): void {
    this.apply(session, change);
    this.tabs.setHint(session !== null);
    this.tabs.publish({ session, change });
  }

  private apply(session: Session | null, change: SessionChange): void {
    this.session = session;
    this.version += 1;
    for (const listener of this.listeners) {
      listener(session, change);
    }
  }

  url(path: string, query?: Query): string {
    return buildUrl(this.baseUrl, path, query);
  }

  /**
   * A new access token from the refresh cookie, or null when there is no usable cookie.
   * Each exchange rotates the cookie, so callers share one request, and tabs take
   * turns: a tab that waited while another renewed the session takes its answer.
   */
  refresh(): Promise<Session | null> {
    this.refreshing ??= this.refreshInTurn().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private refreshInTurn(): Promise<Session | null> {
    const seen = this.version;
    const asked = Date.now();
    return this.tabs.exclusive(async () => {
      if (this.version === seen && this.tabs.refreshedSince(asked)) {
        // Another tab exchanged the cookie while this one waited: its answer is on the way.
        await this.changeAfter(seen, PEER_ANSWER_MS);
      }
      return this.version === seen ? this.doRefresh() : this.session;
    });
  }

  /** Resolves once the session changed from version `seen`, or after `ms`. */
  private changeAfter(seen: number, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      };
      const timer = setTimeout(done, ms);
      const unsubscribe = this.subscribe(() => {
        if (this.version !== seen) {
          done();
        }
      });
    });
  }

  private async doRefresh(): Promise<Session | null> {
    const had = this.session !== null;
    try {
      const { data } = await this.send<Session>("POST", "/auth/refresh", { auth: false });
      this.tabs.markRefreshed();
      this.setSession(data, had ? "renewed" : "signed-in");
      return data;
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        this.setSession(null, had ? "ended" : "signed-out");
        return null;
      }
      throw error;
    }
  }

  /** A call; on 401 with a token, renews the token once and repeats the call. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const hadToken = options.auth !== false && this.token !== null;
    try {
      return await this.send<T>(method, path, options);
    } catch (error) {
      if (!(hadToken && error instanceof ApiError && error.status === 401)) {
        throw error;
      }
      // A refresh that fails for another reason (the network) says more than the 401.
      const renewed = await this.refresh();
      if (!renewed) {
        throw new ApiError("Your session has ended.", { status: 401, code: SESSION_ENDED, requestId: error.requestId });
      }
      return this.send<T>(method, path, options);
    }
  }

  async get<T>(path: string, options?: RequestOptions): Promise<T> {
    return (await this.request<T>("GET", path, options)).data;
  }

  async post<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return (await this.request<T>("POST", path, { ...options, body })).data;
  }

  async put<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return (await this.request<T>("PUT", path, { ...options, body })).data;
  }

  async delete(path: string, options?: RequestOptions): Promise<void> {
    await this.request<unknown>("DELETE", path, options);
  }

  private async send<T>(method: string, path: string, options: RequestOptions): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
    const init: RequestInit = { method, headers, credentials: "include", cache: "no-store" };
    if (options.signal) {
      init.signal = options.signal;
    }
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    const token = this.token;
    if (options.auth !== false && token) {
      headers.Authorization = `Bearer ${token}`;
    }
    let response: Response;
    try {
      response = await this.fetchImpl(this.url(path, options.query), init);
    } catch (error) {
      if (options.signal?.aborted) {
        throw error;
      }
      throw networkError();
    }
    const body = await readBody(response);
    if (!response.ok) {
      throw parseError(response.status, body, response.headers);
    }
    return { data: body as T, status: response.status, headers: response.headers };
  }
}

/** `X-Total-Count` when the gateway lets the browser read it, else null. */
export function totalCount(headers: Headers): number | null {
  const raw = headers.get("X-Total-Count");
  if (raw === null || !/^\d+$/.test(raw.trim())) {
    return null;
  }
  return Number(raw);
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}
