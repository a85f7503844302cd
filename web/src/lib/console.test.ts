import { describe, expect, it } from "vitest";

import { putTogether, type ProducedEvent, type ServiceState } from "./console";

const state = (service: string, group: string, topics: string[], types: string[]): ServiceState => ({
  service,
  ready: true,
  checks: {},
  outbox: null,
  consumers: [{ group, topics, event_types: types, lag: [] }],
  dead_letters_pending: 0,
  instances: 1,
});

const event = (id: string, type: string, at: string): ProducedEvent => ({
  event_id: id,
  event_type: type,
  topic: "order-events",
  key: "42",
  producer: "orders",
  occurred_at: at,
  published_at: at,
  trace_id: null,
});

describe("putTogether", () => {
  it("orders events by time and shows a consumer that has not applied one as missing", () => {
    const states = [state("dispatcher", "dispatcher", ["order-events"], ["order.created"]), state("orders", "orders", ["order-events"], ["order.dispatched"])];
    const story = putTogether(
      states,
      [event("b", "order.dispatched", "2026-01-01T00:00:02Z"), event("a", "order.created", "2026-01-01T00:00:01Z")],
      [{ event_id: "a", consumer: "dispatcher", service: "dispatcher", applied_at: "2026-01-01T00:00:01.5Z" }],
    );
    expect(story.map((s) => s.event.event_type)).toEqual(["order.created", "order.dispatched"]);
    expect(story[0]?.hops).toEqual([{ service: "dispatcher", consumer: "dispatcher", appliedAt: "2026-01-01T00:00:01.5Z" }]);
    expect(story[1]?.hops).toEqual([{ service: "orders", consumer: "orders", appliedAt: null }]);
  });
});
