import type { ReactNode } from "react";

import { useCountdown } from "../hooks/useCountdown";
import type { ApiError } from "../lib/api";
import { humanMessage, isSessionEnded } from "../lib/messages";
import { Icon, type IconName } from "./Icon";

export function Spinner({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

/** Placeholder cards while a grid loads. */
export function SkeletonGrid({ count = 8 }: { count?: number }) {
  return (
    <div className="grid" aria-busy="true" aria-label="Loading">
      {Array.from({ length: count }, (_, index) => (
        <div key={index} className="card skeleton" />
      ))}
    </div>
  );
}

interface ErrorProps {
  error: ApiError | string;
  onRetry?: () => void;
  /** Fields whose own messages the form shows beside them (not repeated here). */
  fields?: readonly string[];
  /** Words before the message, e.g. "Refused:". */
  lead?: string;
  testId?: string;
  children?: ReactNode;
}

/**
 * A failure in words a person can act on. An ended session is left to the session
 * panel (it says so once, for the whole page); a rate limit counts down its wait.
 */
export function ErrorMessage({ error, onRetry, fields = [], lead, testId, children }: ErrorProps) {
  const retryAfter = typeof error === "string" ? null : error.retryAfter;
  const wait = useCountdown(retryAfter, error);
  if (isSessionEnded(error)) {
    return null;
  }
  const text = humanMessage(error, fields);
  const counting = retryAfter !== null;
  return (
    <div className="alert alert-error" role="alert" data-testid={testId}>
      <span>
        {lead && <strong>{lead} </strong>}
        {text}
        {counting && (
          <span data-testid="retry-wait">{wait > 0 ? ` You can try again in ${wait} s.` : " You can try again now."}</span>
        )}
      </span>
      {children}
      {onRetry && (
        <button type="button" className="btn btn-small" disabled={wait > 0} onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Notice({ kind = "success", children, testId }: { kind?: "success" | "info" | "warning"; children: ReactNode; testId?: string }) {
  return (
    <div className={`alert alert-${kind}`} role="status" data-testid={testId}>
      {children}
    </div>
  );
}

/** An empty state; `level` keeps the heading order of the page it sits on. */
export function Empty({ title, children, icon = "circle", level = 2 }: { title: string; children?: ReactNode; icon?: IconName; level?: 2 | 3 }) {
  const Heading = level === 2 ? "h2" : "h3";
  return (
    <div className="empty">
      <div className="empty-icon">
        <Icon name={icon} size={28} />
      </div>
      <Heading className="empty-title">{title}</Heading>
      {children}
    </div>
  );
}
