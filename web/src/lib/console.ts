/**
 * The operator's console: every service's operations API (`/api/ops/<service>/...`,
 * administrators only) asked at once, and an order's (user's, transaction's) story put
 * together from each service's part, as `shopmesh trace` does (src/shopmesh/console/story.py).
 */
import type { ApiClient } from "./api";

/** The services with a database: each serves /api/ops. */
export const OPERATED = ["auth", "customers", "products", "payments", "analytics", "orders", "dispatcher"] as const;
export type Operated = (typeof OPERATED)[number];
export const SUBJECTS = ["order", "user", "transaction"] as const;
export type Subject = (typeof SUBJECTS)[number];

export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

export interface ConsumerState {
  group: string;
  topics: string[];
  event_types: string[];
  lag: PartitionLag[];
}

export interface ServiceState {
  service: string;
  ready: boolean;
  checks: Record<string, boolean>;
  outbox: { backlog: number; oldest_unsent_at: string | null; oldest_unsent_age_seconds: number | null } | null;
  consumers: ConsumerState[];
  dead_letters_pending: number | null;
  instances: number | null;
}

export interface DeadLetterAction {
  action: string;
  outcome: string;
  actor: string;
  at: string;
  reason: string | null;
}

export interface DeadLetter {
  id: string;
  service: string;
  consumer: string;
  topic: string;
  partition: number | null;
  offset: number | null;
  key: string | null;
  event_type: string | null;
  event_id: string | null;
  reason: string;
  attempts: number;
  dead_lettered_at: string;
  status: "pending" | "replayed" | "discarded";
  actions: DeadLetterAction[];
}

export interface ProducedEvent {
  event_id: string;
  event_type: string;
  topic: string;
  key: string;
  producer: string;
  occurred_at: string;
  published_at: string | null;
  trace_id: string | null;
}

export interface AppliedEvent {
  event_id: string;
  consumer: string;
  service: string;
  applied_at: string;
}

export interface Hop {
  service: string;
  consumer: string;
  appliedAt: string | null;
}

export interface StoryEvent {
  event: ProducedEvent;
  hops: Hop[];
}

/** What each service answered; the services that did not answer, with why. */
export interface Answers<T> {
  ok: Partial<Record<Operated, T>>;
  failed: Partial<Record<Operated, string>>;
}

export async function askEach<T>(api: ApiClient, path: string, signal?: AbortSignal): Promise<Answers<T>> {
  const answers: Answers<T> = { ok: {}, failed: {} };
  await Promise.all(
    OPERATED.map(async (service) => {
      try {
        answers.ok[service] = await api.get<T>(`/api/ops/${service}${path}`, { signal });
      } catch (error) {
        answers.failed[service] = error instanceof Error ? error.message : "no answer";
      }
    }),
  );
  return answers;
}

/** The events about the subject in order, each with the consumer groups that take it. */
export function putTogether(states: ServiceState[], produced: ProducedEvent[], applied: AppliedEvent[]): StoryEvent[] {
  const when = new Map(applied.map((a) => [`${a.event_id} ${a.consumer}`, a.applied_at]));
  const events = [...produced].sort((a, b) => a.occurred_at.localeCompare(b.occurred_at) || a.event_id.localeCompare(b.event_id));
  return events.map((event) => ({
    event,
    hops: states
      .flatMap((state) => state.consumers.map((consumer) => ({ state, consumer })))
      .filter(({ consumer }) => consumer.topics.includes(event.topic) && consumer.event_types.includes(event.event_type))
      .map(({ state, consumer }) => ({
        service: state.service,
        consumer: consumer.group,
        appliedAt: when.get(`${event.event_id} ${consumer.group}`) ?? null,
      })),
  }));
}

export async function loadStory(api: ApiClient, subject: Subject, id: string, signal?: AbortSignal): Promise<{ events: StoryEvent[]; failed: string[] }> {
  const states = await askEach<ServiceState>(api, "/state", signal);
  const produced = await askEach<ProducedEvent[]>(api, `/events?${new URLSearchParams({ subject, id }).toString()}`, signal);
  const events = Object.values(produced.ok).flat();
  let applied: Answers<AppliedEvent[]> = { ok: {}, failed: {} };
  if (events.length > 0) {
    const ids = new URLSearchParams(events.map((e) => ["event_id", e.event_id]));
    applied = await askEach<AppliedEvent[]>(api, `/applied?${ids.toString()}`, signal);
  }
  const failed = Object.keys({ ...states.failed, ...produced.failed, ...applied.failed });
  return { events: putTogether(Object.values(states.ok), events, Object.values(applied.ok).flat()), failed };
}
