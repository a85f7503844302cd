import { describe, expect, it, vi } from "vitest";

import { ApiClient, ApiError, buildUrl, parseError, totalCount, type Session } from "./api";

const SESSION: Session = { id: 1, username: "ada", role: "user", token: "t1" };

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;

function client(handler: Handler) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchImpl = vi.fn((url: string, init: RequestInit) => {
    calls.push({ url, init });
    return Promise.resolve(handler(url, init));
  });
  return { api: new ApiClient("http://gw:8080/", fetchImpl as unknown as typeof fetch), calls };
}

function header(init: RequestInit | undefined, name: string): string | undefined {
  return (init?.headers as Record<string, string> | undefined)?.[name];
}

describe("parseError", () => {
  it("uses the server's own message and code", () => {
    const error = parseError(422, { error: "total would exceed the limit of 1000.00", code: "limit_exceeded", request_id: "r1" });
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toBe("total would exceed the limit of 1000.00");
    expect(error.code).toBe("limit_exceeded");
    expect(error.status).toBe(422);
    expect(error.requestId).toBe("r1");
  });

  it("keeps validation details", () => {
    const details = [{ loc: ["body", "email"], msg: "bad", type: "x" }];
    expect(parseError(422, { error: "email: bad", code: "validation_error", details }).details).toEqual(details);
  });

  it("falls back to a readable message when the body is not the platform's shape", () => {
    expect(parseError(502, "<html>bad gateway</html>").message).toMatch(/answered badly/);
    expect(parseError(429, null).message).toMatch(/Too many attempts/);
    expect(parseError(418, {}).message).toBe("Something went wrong (HTTP 418).");
    expect(parseError(418, {}).code).toBe("http_418");
  });
});

describe("buildUrl and totalCount", () => {
  it("joins the base and path and leaves out empty query values", () => {
    expect(buildUrl("http://gw:8080/", "/api/products", { limit: 12, q: "", category: null, offset: 0, x: undefined })).toBe(
      "http://gw:8080/api/products?limit=12&offset=0",
    );
  });

  it("reads X-Total-Count only when it is a number", () => {
    expect(totalCount(new Headers({ "X-Total-Count": "57" }))).toBe(57);
    expect(totalCount(new Headers({ "X-Total-Count": "lots" }))).toBeNull();
    expect(totalCount(new Headers())).toBeNull();
  });
});

describe("ApiClient", () => {
  it("sends cookies always and the bearer token only once signed in", async () => {
    const { api, calls } = client(() => json(200, []));
    await api.get("/api/orders");
    api.setSession(SESSION);
    await api.get("/api/orders");
    expect(calls.map((c) => c.init.credentials)).toEqual(["include", "include"]);
    expect(header(calls[0]?.init, "Authorization")).toBeUndefined();
    expect(header(calls[1]?.init, "Authorization")).toBe("Bearer t1");
  });

  it("sends JSON bodies with their content type", async () => {
    const { api, calls } = client(() => json(201, { id: 1 }));
    await api.post("/payment/transactions", { amount: 5, description: "x" });
    expect(calls[0]?.init.method).toBe("POST");
    expect(calls[0]?.init.body).toBe('{"amount":5,"description":"x"}');
    expect(header(calls[0]?.init, "Content-Type")).toBe("application/json");
  });

  it("raises the server's error", async () => {
    const { api } = client(() => json(409, { error: "username already taken", code: "username_taken" }));
    await expect(api.post("/auth/register", {}, { auth: false })).rejects.toMatchObject({
      status: 409,
      code: "username_taken",
      message: "username already taken",
    });
  });

  it("turns a network failure into a readable error", async () => {
    const { api } = client(() => {
      throw new TypeError("Failed to fetch");
    });
    await expect(api.get("/x")).rejects.toMatchObject({ status: 0, code: "network_error" });
  });

  it("answers 204 with null", async () => {
    const { api } = client(() => new Response(null, { status: 204 }));
    await expect(api.post("/auth/logout")).resolves.toBeNull();
  });

  it("renews an expired token with the refresh cookie and repeats the call once", async () => {
    const { api, calls } = client((url, init) => {
      if (url.endsWith("/auth/refresh")) {
        return json(200, { ...SESSION, token: "t2" });
      }
      return header(init, "Authorization") === "Bearer t2" ? json(200, ["ok"]) : json(401, { error: "token expired", code: "unauthorized" });
    });
    api.setSession(SESSION);
    await expect(api.get("/api/orders")).resolves.toEqual(["ok"]);
    expect(calls.map((c) => c.url.replace("http://gw:8080", ""))).toEqual(["/api/orders", "/auth/refresh", "/api/orders"]);
    expect(api.token).toBe("t2");
  });

  it("ends the session when the refresh cookie is refused", async () => {
    const { api } = client(() => json(401, { error: "no session", code: "unauthorized" }));
    const seen: (Session | null)[] = [];
    api.subscribe((s) => seen.push(s));
    api.setSession(SESSION);
    await expect(api.get("/api/orders")).rejects.toMatchObject({ status: 401 });
    expect(api.current).toBeNull();
    expect(seen).toEqual([SESSION, null]);
  });

  it("shares one refresh between concurrent callers (a refresh cookie works once)", async () => {
    let resolve: (r: Response) => void = () => undefined;
    const { api, calls } = client(
      () =>
        new Promise<Response>((r) => {
          resolve = r;
        }),
    );
    const first = api.refresh();
    const second = api.refresh();
    resolve(json(200, SESSION));
    await expect(Promise.all([first, second])).resolves.toEqual([SESSION, SESSION]);
    expect(calls).toHaveLength(1);
    expect(api.current).toEqual(SESSION);
  });

  it("does not try to refresh after a wrong password", async () => {
    const { api, calls } = client(() => json(401, { error: "invalid username or password", code: "invalid_credentials" }));
    await expect(api.post("/auth/login", { username: "a", password: "b" }, { auth: false })).rejects.toMatchObject({
      message: "invalid username or password",
    });
    expect(calls).toHaveLength(1);
  });
});
