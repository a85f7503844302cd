/**
 * The one way the UI talks to the gateway: JSON in and out, cookies included
 * (the refresh cookie), the access token kept in memory only, and every
 * failure turned into an {@link ApiError} whose message is the server's own
 * `error` text.
 */

export interface ErrorBody {
  error?: unknown;
  code?: unknown;
  request_id?: unknown;
  details?: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  readonly requestId: string | null;

  constructor(
    message: string,
    { status, code, details = null, requestId = null }: { status: number; code: string; details?: unknown; requestId?: string | null },
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
  }
}

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

/** The platform's error body `{error, code, request_id, details}` → an ApiError. */
export function parseError(status: number, body: unknown, requestId: string | null = null): ApiError {
  const data: ErrorBody = typeof body === "object" && body !== null ? body : {};
  const message = typeof data.error === "string" && data.error.trim() ? data.error : fallbackMessage(status);
  const code = typeof data.code === "string" && data.code ? data.code : codeFor(status);
  const rid = typeof data.request_id === "string" ? data.request_id : requestId;
  return new ApiError(message, { status, code, details: data.details ?? null, requestId: rid });
}

export function networkError(): ApiError {
  return new ApiError(fallbackMessage(0), { status: 0, code: "network_error" });
}

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

type Listener = (session: Session | null) => void;

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
  private refreshing: Promise<Session | null> | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly fetchImpl: typeof fetch;

  constructor(
    readonly baseUrl: string,
    fetchImpl?: typeof fetch,
  ) {
    this.fetchImpl = fetchImpl ?? fetch.bind(globalThis);
  }

  get token(): string | null {
    return this.session?.token ?? null;
  }

  get current(): Session | null {
    return this.session;
  }

  /** Notified whenever the session starts, is renewed or ends. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setSession(session: Session | null): void {
    this.session = session;
    for (const listener of this.listeners) {
      listener(session);
    }
  }

  url(path: string, query?: Query): string {
    return buildUrl(this.baseUrl, path, query);
  }

  /**
   * A new access token from the refresh cookie, or null when there is no usable cookie.
   * Concurrent callers share one request: each refresh cookie works once, and
   * presenting a used one again would end the whole session.
   */
  refresh(): Promise<Session | null> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<Session | null> {
    try {
      const { data } = await this.send<Session>("POST", "/auth/refresh", { auth: false });
      this.setSession(data);
      return data;
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        this.setSession(null);
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
      const renewed = await this.refresh().catch(() => null);
      if (!renewed) {
        throw error;
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
      throw parseError(response.status, body, response.headers.get("X-Request-ID"));
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
