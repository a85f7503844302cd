import { describe, expect, it, vi } from "vitest";

import { followEventStream, nextDelay, SseParser, type SseEvent, type StreamState } from "./sse";

describe("SseParser", () => {
  it("parses named events with JSON data", () => {
    const parser = new SseParser();
    const events = parser.feed('event: status\ndata: {"order_id":1,"status":"Dispatched"}\n\n');
    expect(events).toEqual([{ event: "status", data: '{"order_id":1,"status":"Dispatched"}', id: null }]);
  });

  it("ignores comments and keep-alives, and remembers retry advice", () => {
    const parser = new SseParser();
    expect(parser.feed(": connected\nretry: 3000\n\n: keep-alive\n\n")).toEqual([]);
    expect(parser.retryMs).toBe(3000);
  });

  it("joins several data lines with newlines and defaults the type to message", () => {
    const parser = new SseParser();
    expect(parser.feed("data: a\ndata: b\n\n")).toEqual([{ event: "message", data: "a\nb", id: null }]);
  });

  it("reassembles events split anywhere across chunks, CRLF included", () => {
    const text = "event: status\r\ndata: {\"x\":1}\r\nid: 7\r\n\r\nevent: status\r\ndata: 2\r\n\r\n";
    for (let cut = 1; cut < text.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.feed(text.slice(0, cut)), ...parser.feed(text.slice(cut))];
      expect(events, `cut at ${cut}`).toEqual([
        { event: "status", data: '{"x":1}', id: "7" },
        { event: "status", data: "2", id: "7" },
      ]);
    }
  });

  it("does not emit an event before its blank line arrives", () => {
    const parser = new SseParser();
    expect(parser.feed("event: status\ndata: 1\n")).toEqual([]);
    expect(parser.feed("\n")).toHaveLength(1);
  });

  it("keeps a value's own leading space after the first one, and handles a field without colon", () => {
    const parser = new SseParser();
    expect(parser.feed("data:  two spaces\ndata\n\n")).toEqual([{ event: "message", data: " two spaces\n", id: null }]);
  });

  it("resets the event type after each event", () => {
    const parser = new SseParser();
    const events = parser.feed("event: status\ndata: 1\n\ndata: 2\n\n");
    expect(events.map((e) => e.event)).toEqual(["status", "message"]);
  });
});

describe("nextDelay", () => {
  it("starts at the minimum, doubles, and stops at the maximum", () => {
    expect(nextDelay(0, 500, 4000)).toBe(500);
    expect(nextDelay(500, 500, 4000)).toBe(1000);
    expect(nextDelay(4000, 500, 4000)).toBe(4000);
  });
});

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) {
        controller.enqueue(encoder.encode(chunk));
      }
      controller.close();
    },
  });
}

describe("followEventStream", () => {
  it("sends the bearer token, reads events, and reconnects with Last-Event-ID after a drop", async () => {
    const controller = new AbortController();
    const seen: SseEvent[] = [];
    const states: StreamState[] = [];
    const calls: RequestInit[] = [];
    const fetchImpl = vi.fn((_url: string, init: RequestInit) => {
      calls.push(init);
      if (calls.length === 1) {
        return Promise.resolve(new Response(streamOf(["event: status\nid: 4\ndata: 1\n", "\n"]), { status: 200 })); // then drops
      }
      return Promise.resolve(new Response(streamOf(["event: status\ndata: 2\n\n"]), { status: 200 }));
    });
    await followEventStream(
      {
        url: "http://gw/api/orders/stream",
        getToken: () => "tok",
        fetchImpl: fetchImpl as unknown as typeof fetch,
        onEvent: (event) => {
          seen.push(event);
          if (seen.length === 2) {
            controller.abort();
          }
        },
        onState: (state) => states.push(state),
        sleep: () => Promise.resolve(),
      },
      controller.signal,
    );
    expect(seen.map((e) => e.data)).toEqual(["1", "2"]);
    const firstHeaders = calls[0]?.headers as Record<string, string>;
    expect(firstHeaders.Authorization).toBe("Bearer tok");
    expect(firstHeaders["Last-Event-ID"]).toBeUndefined();
    expect((calls[1]?.headers as Record<string, string>)["Last-Event-ID"]).toBe("4");
    expect(calls[0]?.credentials).toBe("include");
    expect(states).toEqual(["connecting", "open", "reconnecting", "open", "closed"]);
  });

  it("retries after a failed connection with growing delays", async () => {
    const controller = new AbortController();
    const delays: number[] = [];
    let attempts = 0;
    const fetchImpl = () => {
      attempts++;
      return Promise.reject(new TypeError("network down"));
    };
    await followEventStream(
      {
        url: "http://gw/s",
        getToken: () => "tok",
        fetchImpl: fetchImpl,
        onEvent: () => undefined,
        minDelayMs: 100,
        maxDelayMs: 400,
        sleep: (ms) => {
          delays.push(ms);
          if (delays.length === 4) {
            controller.abort();
          }
          return Promise.resolve();
        },
      },
      controller.signal,
    );
    expect(attempts).toBe(4);
    expect(delays).toEqual([100, 200, 400, 400]);
  });

  it("renews the token once on 401 and stops when it is refused again", async () => {
    let token = "old";
    const used: string[] = [];
    const fetchImpl = (_url: string, init: RequestInit) => {
      used.push((init.headers as Record<string, string>).Authorization ?? "");
      return Promise.resolve(new Response(null, { status: 401 }));
    };
    const onUnauthorized = vi.fn(() => {
      token = "new";
      return Promise.resolve(true);
    });
    await followEventStream(
      {
        url: "http://gw/s",
        getToken: () => token,
        fetchImpl: fetchImpl as unknown as typeof fetch,
        onEvent: () => undefined,
        onUnauthorized,
        sleep: () => Promise.resolve(),
      },
      new AbortController().signal,
    );
    expect(used).toEqual(["Bearer old", "Bearer new"]);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it("replaces a connection that stays silent past the idle timeout (a dropped network looks open)", async () => {
    const controller = new AbortController();
    const states: StreamState[] = [];
    const signals: AbortSignal[] = [];
    const fetchImpl = (_url: string, init: RequestInit) => {
      signals.push(init.signal as AbortSignal);
      if (signals.length === 2) {
        controller.abort(); // the test has seen the reconnect it waited for
        return Promise.reject(new DOMException("aborted", "AbortError"));
      }
      // Headers arrive, then nothing ever again, until the connection is aborted.
      const body = new ReadableStream<Uint8Array>({
        start(stream) {
          (init.signal as AbortSignal).addEventListener("abort", () => {
            stream.error(new DOMException("aborted", "AbortError"));
          });
        },
      });
      return Promise.resolve(new Response(body, { status: 200 }));
    };
    await followEventStream(
      {
        url: "http://gw/s",
        getToken: () => "tok",
        fetchImpl: fetchImpl as unknown as typeof fetch,
        onEvent: () => undefined,
        onState: (state) => states.push(state),
        idleTimeoutMs: 20,
        sleep: () => Promise.resolve(),
      },
      controller.signal,
    );
    expect(signals).toHaveLength(2);
    expect(signals[0]?.aborted).toBe(true);
    expect(states).toEqual(["connecting", "open", "reconnecting", "closed"]);
  });

  it("keeps a connection that brings keep-alives more often than the idle timeout", async () => {
    const controller = new AbortController();
    let connections = 0;
    let comments = 0;
    const fetchImpl = (_url: string, init: RequestInit) => {
      connections++;
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        start(stream) {
          const timer = setInterval(() => {
            comments++;
            stream.enqueue(encoder.encode(": keep-alive\n\n"));
            if (comments === 8) {
              stream.enqueue(encoder.encode("data: done\n\n"));
            }
          }, 10);
          (init.signal as AbortSignal).addEventListener("abort", () => {
            clearInterval(timer);
            stream.error(new DOMException("aborted", "AbortError"));
          });
        },
      });
      return Promise.resolve(new Response(body, { status: 200 }));
    };
    await followEventStream(
      {
        url: "http://gw/s",
        getToken: () => "tok",
        fetchImpl: fetchImpl as unknown as typeof fetch,
        onEvent: () => {
          controller.abort();
        },
        idleTimeoutMs: 40,
        sleep: () => Promise.resolve(),
      },
      controller.signal,
    );
    // Eight keep-alives 10 ms apart outlast the 40 ms timeout: the first connection was kept.
    expect(connections).toBe(1);
  });
});
