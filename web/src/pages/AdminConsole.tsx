import { useState } from "react";

import { CardTable } from "../components/CardTable";
import { Empty, ErrorMessage, Spinner } from "../components/Feedback";
import { useAuth } from "../hooks/auth";
import { useInterval } from "../hooks/useInterval";
import { useToast } from "../hooks/toast";
import { toApiError, useResource } from "../hooks/useResource";
import { askEach, type DeadLetter, type Operated, type ServiceState } from "../lib/console";
import { formatDateTime } from "../lib/format";
import { humanMessage } from "../lib/messages";
import { ConsoleStory } from "./ConsoleStory";

/** Seconds between two refreshes of the page's figures. */
const REFRESH_MS = 5000;

const SERVICE_COLUMNS = [
  { label: "Service" },
  { label: "Ready" },
  { label: "Instances", numeric: true },
  { label: "Outbox backlog", numeric: true },
  { label: "Oldest unsent", numeric: true },
  { label: "Dead letters", numeric: true },
  { label: "Consumer lag" },
];
const LETTER_COLUMNS = [{ label: "Dead letter" }, { label: "Service" }, { label: "Event" }, { label: "Reason" }, { label: "Tries", numeric: true }, { label: "Since" }];

function seconds(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : `${Math.round(value)} s`;
}

function lagOf(state: ServiceState): string {
  const parts = state.consumers.flatMap((c) => c.lag.map((l) => `${c.group} ${l.topic}/${l.partition}: ${l.lag}`));
  return parts.length > 0 ? parts.join(", ") : state.consumers.length > 0 ? "no commits yet" : "no consumers";
}

function Services({ states }: { states: Partial<Record<Operated, ServiceState>> }) {
  return (
    <CardTable columns={SERVICE_COLUMNS} testId="console-services">
      {Object.values(states).map((s) => (
        <tr key={s.service} data-testid="console-service">
          <td className="card-title">{s.service}</td>
          <td data-label="Ready">{s.ready ? "Ready" : `Not ready (${Object.keys(s.checks).filter((k) => !s.checks[k]).join(", ")})`}</td>
          <td className="num" data-label="Instances">
            {s.instances ?? "—"}
          </td>
          <td className="num" data-label="Outbox backlog">
            {s.outbox?.backlog ?? "—"}
          </td>
          <td className="num" data-label="Oldest unsent">
            {seconds(s.outbox?.oldest_unsent_age_seconds)}
          </td>
          <td className="num" data-label="Dead letters">
            {s.dead_letters_pending ?? "—"}
          </td>
          <td data-label="Consumer lag">{lagOf(s)}</td>
        </tr>
      ))}
    </CardTable>
  );
}

/** The admin console: the services' state, the dead letters with replay, an order's story. */
export function AdminConsole() {
  const { api } = useAuth();
  const notify = useToast();
  const [busy, setBusy] = useState<string | null>(null);
  const states = useResource("console-states", (signal) => askEach<ServiceState>(api, "/state", signal));
  const letters = useResource("console-letters", (signal) => askEach<DeadLetter[]>(api, "/dead-letters?status=pending", signal));
  useInterval(() => {
    states.reload();
    letters.reload();
  }, REFRESH_MS);

  const act = async (letter: DeadLetter, action: "replay" | "discard") => {
    setBusy(letter.id);
    try {
      const done = await api.post<DeadLetter>(`/api/ops/${letter.service}/dead-letters/${encodeURIComponent(letter.id)}/${action}`);
      const last = done.actions[done.actions.length - 1];
      notify(action === "replay" ? `Replayed: ${last?.outcome === "applied" ? "applied" : "it had been applied already"}.` : "Dead letter discarded.");
    } catch (caught) {
      const error = toApiError(caught);
      // An operator needs the cause itself: the server's message names it.
      notify(error.code === "replay_failed" ? error.message : humanMessage(error), "error");
    } finally {
      setBusy(null);
      letters.reload();
      states.reload();
    }
  };

  const pending = Object.values(letters.data?.ok ?? {}).flat();
  const silent = Object.keys({ ...states.data?.failed, ...letters.data?.failed });
  return (
    <>
      <div className="section-head">
        <h2>Services</h2>
        <span className="muted">Refreshed every {REFRESH_MS / 1000} s</span>
      </div>
      {states.error && <ErrorMessage error={states.error} onRetry={states.reload} />}
      {!states.data && states.loading && <Spinner />}
      {states.data && <Services states={states.data.ok} />}
      {silent.length > 0 && <p className="muted">No answer from: {silent.join(", ")}.</p>}
      <div className="section-head">
        <h2>Dead letters</h2>
      </div>
      <p className="muted">Events a consumer gave up on. Replay applies one once its cause is fixed (never twice); discard sets it aside. Both are recorded.</p>
      {letters.data && pending.length === 0 && (
        <Empty title="No dead letters waiting" icon="check" level={3}>
          <p className="muted">Every event was applied.</p>
        </Empty>
      )}
      {pending.length > 0 && (
        <CardTable columns={LETTER_COLUMNS} actions testId="dead-letters">
          {pending.map((letter) => (
            <tr key={letter.id} data-testid="dead-letter">
              <td className="card-title ellipsis" title={letter.id}>
                {letter.id}
              </td>
              <td data-label="Service">
                {letter.service} ({letter.consumer})
              </td>
              <td data-label="Event">{letter.event_type ?? "not an event"}</td>
              <td className="ellipsis" data-label="Reason" title={letter.reason}>
                {letter.reason}
              </td>
              <td className="num" data-label="Tries">
                {letter.attempts}
              </td>
              <td className="muted" data-label="Since">
                {formatDateTime(letter.dead_lettered_at)}
              </td>
              <td className="actions">
                <button type="button" className="btn btn-small" disabled={busy === letter.id || letter.event_type === null} onClick={() => void act(letter, "replay")}>
                  Replay<span className="sr-only"> {letter.id}</span>
                </button>
                <button type="button" className="btn btn-small btn-ghost" disabled={busy === letter.id} onClick={() => void act(letter, "discard")}>
                  Discard<span className="sr-only"> {letter.id}</span>
                </button>
              </td>
            </tr>
          ))}
        </CardTable>
      )}
      <ConsoleStory />
    </>
  );
}
