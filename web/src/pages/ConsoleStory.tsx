import { useState, type SubmitEvent } from "react";

import { Empty, ErrorMessage, Spinner } from "../components/Feedback";
import { useAuth } from "../hooks/auth";
import { useResource } from "../hooks/useResource";
import { loadStory, SUBJECTS, type Subject } from "../lib/console";
import { formatDateTime } from "../lib/format";

/** An order's (user's, transaction's) story: every event about it and who applied it. */
export function ConsoleStory() {
  const { api } = useAuth();
  const [subject, setSubject] = useState<Subject>("order");
  const [id, setId] = useState("");
  const [asked, setAsked] = useState<{ subject: Subject; id: string } | null>(null);
  const story = useResource(asked ? `story ${asked.subject} ${asked.id}` : null, (signal) => loadStory(api, asked?.subject ?? "order", asked?.id ?? "", signal));

  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    if (/^\d{1,19}$/.test(id.trim())) {
      setAsked({ subject, id: id.trim() });
    }
  };

  return (
    <>
      <div className="section-head">
        <h2>Story</h2>
      </div>
      <form className="form-inline" onSubmit={submit} aria-label="Trace a story">
        <label>
          Subject{" "}
          <select value={subject} onChange={(e) => setSubject(e.target.value as Subject)}>
            {SUBJECTS.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Id <input inputMode="numeric" pattern="[0-9]*" required value={id} onChange={(e) => setId(e.target.value)} size={10} />
        </label>
        <button type="submit" className="btn btn-small">
          Trace
        </button>
      </form>
      {story.error && <ErrorMessage error={story.error} onRetry={story.reload} />}
      {asked && !story.data && story.loading && <Spinner label="Asking every service…" />}
      {asked && story.data?.events.length === 0 && (
        <Empty title={`No events about ${asked.subject} ${asked.id}`} level={3}>
          <p className="muted">Producers keep sent events a day.</p>
        </Empty>
      )}
      {story.data && story.data.events.length > 0 && (
        <ol className="story" data-testid="story">
          {story.data.events.map(({ event, hops }) => (
            <li key={event.event_id} data-testid="story-event">
              <strong>{event.event_type}</strong> from {event.producer}, {formatDateTime(event.occurred_at)}
              {event.published_at ? "" : " (not published yet)"}
              <span className="muted"> · trace {event.trace_id ?? "none"}</span>
              <ul>
                {hops.map((hop) => (
                  <li key={hop.consumer} className={hop.appliedAt ? undefined : "missing"}>
                    {hop.service} ({hop.consumer}): {hop.appliedAt ? `applied ${formatDateTime(hop.appliedAt)}` : "missing, not applied"}
                  </li>
                ))}
                {hops.length === 0 && <li className="muted">No consumer applies this event type.</li>}
              </ul>
            </li>
          ))}
        </ol>
      )}
      {story.data && story.data.failed.length > 0 && <p className="muted">No answer from: {story.data.failed.join(", ")}; their part may be missing.</p>}
    </>
  );
}
