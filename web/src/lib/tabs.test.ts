import { afterEach, describe, expect, it, vi } from "vitest";

import { ApiClient, parseError, SESSION_ENDED, type Session } from "./api";
import { CHANNEL_NAME, HINT_KEY, tabsOf, type TabMessage, type Tabs } from "./tabs";

const ADA: Session = { id: 1, username: "ada", role: "user", token: "t0" };

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

let browsers = 0;

/** One browser: a lock its tabs share (like Web Locks), a channel name, one localStorage. */
function browser() {
  browsers += 1;
  const name = `${CHANNEL_NAME}-${browsers}`;
  let queue: Promise<unknown> = Promise.resolve();
  const locks = {
    request<T>(_name: string, task: () => Promise<T>): Promise<T> {
      const run = queue.then(task, task);
      queue = run.catch(() => undefined);
      return run;
    },
  };
  const values = new Map<string, string>();
  const storage = {
    getItem: (key: string) => values.get(key) ?? null,
    setItem: (key: string, value: string) => values.set(key, value),
    removeItem: (key: string) => values.delete(key),
  };
  const channels: BroadcastChannel[] = [];
  const tab = (): Tabs => {
    const channel = new BroadcastChannel(name);
    channels.push(channel);
    return tabsOf({ locks, channel, storage });
  };
  return { tab, values, close: () => channels.forEach((c) => c.close()) };
}

/** A gateway whose refresh cookie rotates; counts the exchanges. */
function gateway() {
  let exchanges = 0;
  const fetchImpl = vi.fn((url: string) => {
    if (url.endsWith("/auth/refresh")) {
      exchanges += 1;
      return Promise.resolve(json(200, { ...ADA, token: `t${exchanges}` }));
    }
    return Promise.resolve(json(200, []));
  });
  return { fetchImpl: fetchImpl as unknown as typeof fetch, exchanges: () => exchanges };
}

let cleanup: (() => void)[] = [];
afterEach(() => {
  cleanup.forEach((c) => c());
  cleanup = [];
});

describe("tabs sharing one refresh cookie", () => {
  it("trade it one at a time, and a tab that waited takes the answer another tab got", async () => {
    const b = browser();
    cleanup.push(b.close);
    const gw = gateway();
    const tabs = [b.tab(), b.tab(), b.tab(), b.tab()].map((tab) => new ApiClient("http://gw", gw.fetchImpl, tab));

    const sessions = await Promise.all(tabs.map((tab) => tab.refresh()));

    // The first exchange rotates the cookie; the others hear of it while they wait their turn.
    expect(gw.exchanges()).toBe(1);
    expect(sessions.map((s) => s?.token)).toEqual(["t1", "t1", "t1", "t1"]);
    expect(b.values.get(HINT_KEY)).toBe("1");
  });

  it("exchanges the cookie itself when the tab that did so never says (it was closed)", async () => {
    vi.useFakeTimers();
    cleanup.push(() => vi.useRealTimers());
    const gw = gateway();
    const silent: Tabs = { ...tabsOf({}), refreshedSince: () => true };
    const api = new ApiClient("http://gw", gw.fetchImpl, silent);

    const refreshed = api.refresh();
    await vi.advanceTimersByTimeAsync(1000);
    expect(gw.exchanges()).toBe(0);
    await vi.advanceTimersByTimeAsync(600);

    await expect(refreshed).resolves.toMatchObject({ token: "t1" });
    expect(gw.exchanges()).toBe(1);
  });

  it("still refreshes when no other tab answered meanwhile", async () => {
    const b = browser();
    cleanup.push(b.close);
    const gw = gateway();
    const api = new ApiClient("http://gw", gw.fetchImpl, b.tab());
    await api.refresh();
    await api.refresh();
    expect(gw.exchanges()).toBe(2);
    expect(api.token).toBe("t2");
  });
});

describe("the session hint", () => {
  it("is set by a sign-in and cleared by a sign-out, so a later visit knows whether to try", () => {
    const b = browser();
    cleanup.push(b.close);
    const api = new ApiClient("http://gw", gateway().fetchImpl, b.tab());
    expect(api.mayHaveSession).toBe(false);
    api.setSession(ADA);
    expect(api.mayHaveSession).toBe(true);
    api.setSession(null, "signed-out");
    expect(api.mayHaveSession).toBe(false);
  });

  it("is unknown (so the refresh is tried) where the browser has no storage", () => {
    expect(tabsOf({}).hint()).toBeNull();
    expect(new ApiClient("http://gw", gateway().fetchImpl).mayHaveSession).toBe(true);
  });

  it("survives a storage that throws", () => {
    const broken = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("denied");
      },
      removeItem: () => undefined,
    };
    const tabs = tabsOf({ storage: broken });
    expect(tabs.hint()).toBeNull();
    expect(() => tabs.setHint(true)).not.toThrow();
  });
});

describe("messages between tabs", () => {
  it("apply another tab's sign-in and sign-out here, and ignore anything else", async () => {
    const sender = new BroadcastChannel("msg-test");
    const receiver = new BroadcastChannel("msg-test");
    cleanup.push(() => {
      sender.close();
      receiver.close();
    });
    const api = new ApiClient("http://gw", gateway().fetchImpl, tabsOf({ channel: receiver }));
    const seen: [string | null, string][] = [];
    const heard = new Promise<void>((resolve) => {
      api.subscribe((session, change) => {
        seen.push([session?.username ?? null, change]);
        if (seen.length === 2) {
          resolve();
        }
      });
    });
    sender.postMessage("junk");
    sender.postMessage({ session: ADA, change: "hacked" });
    sender.postMessage({ session: ADA, change: "signed-in" } satisfies TabMessage);
    sender.postMessage({ session: null, change: "ended" } satisfies TabMessage);
    await heard;
    expect(seen).toEqual([
      ["ada", "signed-in"],
      [null, "ended"],
    ]);
    expect(api.current).toBeNull();
  });
});

describe("a call whose session ended under it", () => {
  it("fails with session_ended once the refresh cookie is refused too", async () => {
    const fetchImpl = vi.fn(() => Promise.resolve(json(401, { error: "token expired", code: "token_expired" })));
    const api = new ApiClient("http://gw", fetchImpl);
    const changes: string[] = [];
    api.subscribe((_s, change) => changes.push(change));
    api.setSession(ADA);

    await expect(api.post("/payment/transactions", { amount: 5 })).rejects.toMatchObject({ status: 401, code: SESSION_ENDED });
    expect(changes).toEqual(["signed-in", "ended"]);
  });

  it("reports a failed network on the refresh as such, not as an ended session", async () => {
    const fetchImpl = vi.fn((url: string) =>
      url.endsWith("/auth/refresh") ? Promise.reject(new TypeError("offline")) : Promise.resolve(json(401, { code: "token_expired" })),
    );
    const api = new ApiClient("http://gw", fetchImpl as unknown as typeof fetch);
    api.setSession(ADA);
    await expect(api.get("/api/orders")).rejects.toMatchObject({ status: 0, code: "network_error" });
    expect(api.current).toEqual(ADA);
  });

  it("says nothing of an ended session on a page load without one", async () => {
    const api = new ApiClient("http://gw", vi.fn(() => Promise.resolve(json(401, { code: "invalid_refresh_token" }))));
    const changes: string[] = [];
    api.subscribe((_s, change) => changes.push(change));
    await expect(api.refresh()).resolves.toBeNull();
    expect(changes).toEqual(["signed-out"]);
  });
});

describe("parseError", () => {
  it("reads how long to wait from Retry-After", () => {
    const error = parseError(429, { error: "rate limit exceeded", code: "rate_limited" }, new Headers({ "Retry-After": "42", "X-Request-ID": "r9" }));
    expect(error.retryAfter).toBe(42);
    expect(error.requestId).toBe("r9");
    expect(parseError(503, {}).retryAfter).toBeNull();
  });
});
