import { useCallback, useEffect, useState } from "react";

import { BarChart, TrendChart } from "../components/Charts";
import { ErrorMessage, Spinner } from "../components/Feedback";
import { useAuth } from "../hooks/auth";
import { useInterval } from "../hooks/useInterval";
import { useNow } from "../hooks/useNow";
import { toApiError, useResource } from "../hooks/useResource";
import type { ApiClient, ApiError } from "../lib/api";
import { pushSample } from "../lib/chart";
import { ago, formatDateTime } from "../lib/format";
import { humanMessage } from "../lib/messages";
import { formatMoney } from "../lib/money";
import type { Customer, Stats } from "../lib/types";

export const REFRESH_MS = 5000;
const HISTORY = 30;

interface UserStats {
  user_id: number;
  transactions: number;
  amount: number;
  paid_transactions: number;
}

interface Live {
  stats: Stats | null;
  amounts: number[];
  updatedAt: number | null;
  error: ApiError | null;
}

function Tile({ label, value, note, testId }: { label: string; value: string; note?: string; testId?: string }) {
  return (
    <div className="tile" data-testid={testId}>
      <span className="tile-label">{label}</span>
      <span className="tile-value">{value}</span>
      {note && <span className="tile-note muted">{note}</span>}
    </div>
  );
}

interface NamedUser extends UserStats {
  name: string | null;
}

/** The top users with the names of their profiles (a user without one keeps a number). */
async function loadTopUsers(api: ApiClient, signal: AbortSignal): Promise<NamedUser[]> {
  const users = await api.get<UserStats[]>("/api/analytics/users", { signal, query: { limit: 8 } });
  if (users.length === 0) {
    return [];
  }
  const ids = users.map((u) => u.user_id).join(",");
  const profiles = await api.get<Customer[]>("/api/customers", { signal, query: { user_ids: ids, limit: 100 } }).catch(() => []);
  const names = new Map(profiles.map((p) => [p.user_id, p.name]));
  return users.map((u) => ({ ...u, name: names.get(u.user_id) ?? null }));
}

function TopUsers() {
  const { api } = useAuth();
  const users = useResource("analytics-users", (signal) => loadTopUsers(api, signal));
  useInterval(users.reload, REFRESH_MS * 2);
  if (users.error) {
    return <ErrorMessage error={users.error} onRetry={users.reload} />;
  }
  if (!users.data) {
    return <Spinner label="Loading users…" />;
  }
  if (users.data.length === 0) {
    return <p className="muted">No user has made a transaction yet.</p>;
  }
  return (
    <BarChart
      title="Top users by amount (admin)"
      bars={users.data.map((u) => ({ label: u.name ?? `User #${u.user_id}`, value: u.amount, tone: "primary" as const }))}
      format={(value) => formatMoney(value)}
    />
  );
}

export function AnalyticsPage() {
  const { api, isAdmin } = useAuth();
  const now = useNow();
  const [live, setLive] = useState<Live>({ stats: null, amounts: [], updatedAt: null, error: null });

  const load = useCallback(
    async (signal?: AbortSignal) => {
      try {
        const stats = await api.get<Stats>("/analytics/stats", { signal, auth: false });
        setLive((previous) => ({
          stats,
          amounts: pushSample(previous.amounts, stats.total_amount, HISTORY),
          updatedAt: Date.now(),
          error: null,
        }));
      } catch (caught) {
        if (!signal?.aborted) {
          setLive((previous) => ({ ...previous, error: toApiError(caught) }));
        }
      }
    },
    [api],
  );

  useEffect(() => {
    const controller = new AbortController();
    void load(controller.signal);
    return () => {
      controller.abort();
    };
  }, [load]);
  useInterval(() => void load(), REFRESH_MS);

  const stats = live.stats;
  const unpaid = stats ? Math.max(0, stats.total_transactions - stats.total_paid_transactions) : 0;
  return (
    <>
      <title>Analytics · ShopMesh</title>
      <div className="page-head">
        <h1>Analytics</h1>
        <span className="muted small" aria-live="off" data-testid="updated">
          {live.updatedAt ? `Updated ${ago(live.updatedAt, now)} · refreshes every ${REFRESH_MS / 1000} s` : "Loading…"}
        </span>
      </div>
      {live.error && (
        <ErrorMessage
          error={stats ? `Could not refresh: ${humanMessage(live.error)} Showing the last figures.` : live.error}
          onRetry={() => void load()}
        />
      )}
      {!stats && !live.error && <Spinner label="Loading the figures…" />}
      {stats && (
        <>
          <div className="tiles">
            <Tile label="Transactions" value={stats.total_transactions.toLocaleString("en-US")} testId="tile-transactions" />
            <Tile label="Total amount" value={formatMoney(stats.total_amount)} testId="tile-amount" />
            <Tile
              label="Paid transactions"
              value={stats.total_paid_transactions.toLocaleString("en-US")}
              note={`${unpaid.toLocaleString("en-US")} unpaid`}
              testId="tile-paid"
            />
            <Tile label="Customers paying" value={stats.unique_users.toLocaleString("en-US")} testId="tile-users" />
            <Tile label="Events processed" value={stats.events_processed.toLocaleString("en-US")} testId="tile-events" />
            <Tile label="Last event" value={stats.last_event_time ? ago(Date.parse(stats.last_event_time), now) : "—"} note={formatDateTime(stats.last_event_time)} />
          </div>
          <div className="charts">
            <section className="panel">
              <BarChart
                title="Transactions by status"
                bars={[
                  { label: "Paid", value: stats.total_paid_transactions, tone: "primary" },
                  { label: "Unpaid", value: unpaid, tone: "accent" },
                ]}
              />
            </section>
            <section className="panel">
              <TrendChart title="Total amount, recent refreshes" values={live.amounts} format={(value) => formatMoney(value)} />
            </section>
            {isAdmin && (
              <section className="panel span-all">
                <TopUsers />
              </section>
            )}
          </div>
        </>
      )}
    </>
  );
}
