/**
 * Server-Sent Events over `fetch`, because an `EventSource` cannot send an
 * Authorization header. The parser follows the HTML event-stream format:
 * `event:`/`data:`/`id:`/`retry:` fields, `:` comments, a blank line ends an event.
 */

export interface SseEvent {
  /** `message` when the server named none. */
  event: string;
  data: string;
  id: string | null;
}

export class SseParser {
  private buffer = "";
  private pendingCr = false;
  private eventType = "";
  private dataLines: string[] = [];
  private lastId: string | null = null;
  /** The server's `retry:` advice in milliseconds, if it gave one. */
  retryMs: number | null = null;

  /** Feed a decoded chunk (any size, split anywhere); returns the events it completed. */
  feed(chunk: string): SseEvent[] {
    let text = chunk;
    if (this.pendingCr && text.startsWith("\n")) {
      text = text.slice(1); // the LF of a CRLF split across two chunks
    }
    this.pendingCr = text.endsWith("\r");
    this.buffer += text;
    const events: SseEvent[] = [];
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() ?? "";
    for (const line of lines) {
      const event = this.line(line);
      if (event) {
        events.push(event);
      }
    }
    return events;
  }

  get lastEventId(): string | null {
    return this.lastId;
  }

  private line(line: string): SseEvent | null {
    if (line === "") {
      return this.dispatch();
    }
    if (line.startsWith(":")) {
      return null; // a comment (servers send them as keep-alives)
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) {
      value = value.slice(1);
    }
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.dataLines.push(value);
        break;
      case "id":
        if (!value.includes("\0")) {
          this.lastId = value;
        }
        break;
      case "retry":
        if (/^\d+$/.test(value)) {
          this.retryMs = Number(value);
        }
        break;
      default:
        break; // unknown fields are ignored
    }
    return null;
  }

  private dispatch(): SseEvent | null {
    const type = this.eventType || "message";
    const data = this.dataLines.join("\n");
    const hadData = this.dataLines.length > 0;
    this.eventType = "";
    this.dataLines = [];
    return hadData ? { event: type, data, id: this.lastId } : null;
  }
}

export type StreamState = "connecting" | "open" | "reconnecting" | "closed";

export interface StreamOptions {
  url: string;
  /** The current access token (read again on every reconnect). */
  getToken: () => string | null;
  onEvent: (event: SseEvent) => void;
  onState?: (state: StreamState) => void;
  /** Called once on 401; resolve true when a new token is available, to reconnect. */
  onUnauthorized?: () => Promise<boolean>;
  fetchImpl?: typeof fetch;
  /** Reconnect delays grow from `minDelayMs` to `maxDelayMs`. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /**
   * A connection that brings nothing (not even the server's keep-alive comment) for
   * this long is dead though it looks open (a dropped network): it is replaced.
   */
  idleTimeoutMs?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/** Read through a function: the signal changes while we await, which narrowing cannot see. */
function stopped(signal: AbortSignal): boolean {
  return signal.aborted;
}

/** Next reconnect delay: doubles each time, capped, and resets once a connection has opened. */
export function nextDelay(previous: number, min: number, max: number): number {
  return previous <= 0 ? min : Math.min(max, previous * 2);
}

/**
 * Read the stream until `signal` aborts, reconnecting (with `Last-Event-ID`) whenever
 * it drops. Returns when aborted, or when the server refuses the token for good.
 */
export async function followEventStream(options: StreamOptions, signal: AbortSignal): Promise<void> {
  const sleep = options.sleep ?? defaultSleep;
  const min = options.minDelayMs ?? 500;
  const max = options.maxDelayMs ?? 15000;
  let delay = 0;
  const progress: Progress = { lastId: null, refreshed: false, opened: false };
  options.onState?.("connecting");
  while (!signal.aborted) {
    const parser = new SseParser();
    let outcome: Outcome = "ended";
    try {
      outcome = await connectOnce(options, signal, parser, progress);
    } catch {
      // Dropped, refused, unreachable or silent for too long: reconnect below.
    }
    progress.lastId = parser.lastEventId ?? progress.lastId;
    if (progress.opened) {
      delay = 0; // it worked: the next wait starts small again
      progress.opened = false;
    }
    if (outcome === "stop" || stopped(signal)) {
      break;
    }
    if (outcome === "again") {
      continue;
    }
    options.onState?.("reconnecting");
    delay = parser.retryMs ?? nextDelay(delay, min, max);
    await sleep(delay, signal);
  }
  options.onState?.("closed");
}

type Outcome = "ended" | "again" | "stop";

interface Progress {
  lastId: string | null;
  /** A 401 was answered with a new token once already (a second 401 ends the stream). */
  refreshed: boolean;
  /** The last connection opened (so the reconnect delay starts over). */
  opened: boolean;
}

/**
 * One connection, read to its end: "again" to reconnect at once (with a new token),
 * "stop" when the server refuses us for good; it throws when the connection fails.
 */
async function connectOnce(
  options: StreamOptions,
  signal: AbortSignal,
  parser: SseParser,
  progress: Progress,
): Promise<Outcome> {
  const doFetch = options.fetchImpl ?? fetch.bind(globalThis);
  const attempt = new AbortController();
  const stop = () => {
    attempt.abort();
  };
  signal.addEventListener("abort", stop, { once: true });
  const idleMs = options.idleTimeoutMs ?? 45000;
  let idle = setTimeout(stop, idleMs);
  try {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    const token = options.getToken();
    if (token) {
      headers.Authorization = `Bearer ${token}`;
    }
    if (progress.lastId !== null) {
      headers["Last-Event-ID"] = progress.lastId;
    }
    const response = await doFetch(options.url, { headers, credentials: "include", signal: attempt.signal, cache: "no-store" });
    if (response.status === 401) {
      await response.body?.cancel();
      if (!progress.refreshed && options.onUnauthorized && (await options.onUnauthorized())) {
        progress.refreshed = true;
        return "again";
      }
      return "stop";
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new Error(`stream answered ${response.status}`);
    }
    progress.refreshed = false;
    progress.opened = true;
    options.onState?.("open");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        return "ended";
      }
      clearTimeout(idle);
      idle = setTimeout(stop, idleMs);
      for (const event of parser.feed(value)) {
        options.onEvent(event);
      }
    }
  } finally {
    clearTimeout(idle);
    signal.removeEventListener("abort", stop);
  }
}
