/**
 * What the tabs of one browser share about the session. They share one refresh
 * cookie, and each exchange of it rotates it, so:
 * - one tab at a time trades it (a Web Lock), so no two exchanges of one cookie
 *   are ever in flight; a tab whose turn comes just after another tab's exchange
 *   takes that tab's answer (a BroadcastChannel) instead of rotating it again;
 * - signing in or out in one tab does so in all of them (the same channel);
 * - a non-secret hint in localStorage says whether a session exists at all, so
 *   an anonymous visit does not ask the server for one (a 401 in the console).
 */

import type { Session } from "./api";

/** Why the session changed: `ended` is the server's doing (expired, revoked), not the person's. */
export type SessionChange = "signed-in" | "renewed" | "signed-out" | "ended";

export interface TabMessage {
  session: Session | null;
  change: SessionChange;
}

export interface Tabs {
  /** Runs `task` while no other tab of this browser runs one. */
  exclusive<T>(task: () => Promise<T>): Promise<T>;
  /** Tells the other tabs (never this one). */
  publish(message: TabMessage): void;
  /** `handler` hears what the other tabs publish; returns the way to stop listening. */
  listen(handler: (message: TabMessage) => void): () => void;
  /** Whether a session was open when last seen: null when the browser cannot say. */
  hint(): boolean | null;
  setHint(open: boolean): void;
  /** Notes that this tab just exchanged the cookie (the time, for the others to see). */
  markRefreshed(now?: number): void;
  /** Whether some tab exchanged the cookie at or after `time`. */
  refreshedSince(time: number): boolean;
}

export const LOCK_NAME = "shopmesh.refresh";
export const CHANNEL_NAME = "shopmesh.session";
export const HINT_KEY = "shopmesh.session.v1";
export const REFRESHED_KEY = "shopmesh.refreshed.v1";

type StorageLike = Pick<Storage, "getItem" | "setItem" | "removeItem">;

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  removeEventListener(type: "message", listener: (event: MessageEvent) => void): void;
}

export interface TabParts {
  locks?: LockManagerLike | null;
  channel?: ChannelLike | null;
  storage?: StorageLike | null;
}

function isTabMessage(value: unknown): value is TabMessage {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const { session, change } = value as Partial<TabMessage>;
  const changes: unknown[] = ["signed-in", "renewed", "signed-out", "ended"];
  return changes.includes(change) && (session === null || (typeof session === "object" && typeof session.token === "string"));
}

/** Tabs coordinated through whichever of the three parts the browser has. */
export function tabsOf({ locks = null, channel = null, storage = null }: TabParts): Tabs {
  return {
    exclusive: (task) => (locks ? locks.request(LOCK_NAME, task) : task()),
    publish: (message) => {
      channel?.postMessage(message);
    },
    listen: (handler) => {
      if (!channel) {
        return () => undefined;
      }
      const onMessage = (event: MessageEvent) => {
        if (isTabMessage(event.data)) {
          handler(event.data);
        }
      };
      channel.addEventListener("message", onMessage);
      return () => {
        channel.removeEventListener("message", onMessage);
      };
    },
    hint: () => {
      try {
        return storage ? storage.getItem(HINT_KEY) === "1" : null;
      } catch {
        return null;
      }
    },
    setHint: (open) => {
      quietly(() => {
        if (open) {
          storage?.setItem(HINT_KEY, "1");
        } else {
          storage?.removeItem(HINT_KEY);
        }
      });
    },
    markRefreshed: (now = Date.now()) => {
      quietly(() => storage?.setItem(REFRESHED_KEY, String(now)));
    },
    refreshedSince: (time) => {
      try {
        return Number(storage?.getItem(REFRESHED_KEY) ?? "0") >= time;
      } catch {
        return false;
      }
    },
  };
}

/** Storage may refuse (private mode, quota): what it keeps here is only a hint. */
function quietly(write: () => unknown): void {
  try {
    write();
  } catch {
    // nothing to do: the tabs fall back on asking the server
  }
}

/** This browser's tabs: each part only where the browser offers it. */
export function browserTabs(storage: StorageLike | null): Tabs {
  const locks = typeof navigator !== "undefined" && "locks" in navigator ? navigator.locks : null;
  const channel = typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel(CHANNEL_NAME);
  return tabsOf({ locks, channel, storage });
}

/** A tab alone: no lock, no channel, no hint (the default for the API client and its tests). */
export const aloneTab: Tabs = tabsOf({});
