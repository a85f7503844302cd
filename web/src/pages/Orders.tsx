import { useState } from "react";

import { Empty, ErrorMessage, Spinner } from "../components/Feedback";
import { Link } from "../components/Link";
import { StatusBadge } from "../components/StatusBadge";
import { useAuth } from "../hooks/auth";
import { useToast } from "../hooks/toast";
import { useAutoRetry } from "../hooks/useAutoRetry";
import { useOnline } from "../hooks/useOnline";
import { useOrderStream } from "../hooks/useOrderStream";
import { toApiError, useResource } from "../hooks/useResource";
import { formatDateTime } from "../lib/format";
import { humanMessage } from "../lib/messages";
import { formatMoney } from "../lib/money";
import type { StreamState } from "../lib/sse";
import { applyStatus, type Order } from "../lib/types";

const STREAM_TEXT: Record<StreamState, string> = {
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  closed: "Not live",
};

export type LiveState = StreamState | "offline" | "stale";

/** What the badge may honestly say: "Live" only when changes can reach the page and the list is current. */
export function liveState(stream: StreamState, online: boolean, listFailed: boolean): LiveState {
  if (!online) {
    return "offline";
  }
  if (stream === "open" && listFailed) {
    return "stale";
  }
  return stream;
}

const LIVE_TEXT: Record<LiveState, string> = { ...STREAM_TEXT, offline: "Offline", stale: "Not up to date" };

export function OrdersPage() {
  const { api, session } = useAuth();
  const notify = useToast();
  const online = useOnline();
  const [cancelling, setCancelling] = useState<number | null>(null);
  const orders = useResource(session ? `orders-${session.id}` : null, (signal) =>
    api.get<Order[]>("/api/orders", { signal, query: { limit: 100 } }),
  );
  // No network or a restarting service: try again by itself, at once when the network is back.
  useAutoRetry(orders.error, orders.reload);

  const stream = useOrderStream(
    api,
    session?.id ?? null,
    (change) => {
      if (orders.data?.some((order) => order.id === change.order_id)) {
        orders.update((list) => applyStatus(list, change) ?? list);
      } else {
        orders.reload(); // an order we have not read yet (placed in another tab)
      }
    },
    // Changes made while we were not connected are read again.
    orders.reload,
  );
  const live = liveState(stream, online, orders.error !== undefined);

  const cancel = async (order: Order) => {
    setCancelling(order.id);
    try {
      const updated = await api.post<Order>(`/api/orders/${order.id}/cancel`);
      orders.update((list) => list.map((o) => (o.id === updated.id ? { ...o, ...updated } : o)));
      notify(`Order #${order.id} is cancelled.`, "info");
    } catch (caught) {
      notify(humanMessage(toApiError(caught)), "error");
      orders.reload();
    } finally {
      setCancelling(null);
    }
  };

  const list = orders.data;
  return (
    <>
      <title>My orders · ShopMesh</title>
      <div className="page-head">
        <h1>My orders</h1>
        <span className={`live live-${live}`} data-testid="stream-state" data-state={live} title="Status changes appear here as they happen">
          <span className="live-dot" aria-hidden="true" /> {LIVE_TEXT[live]}
        </span>
      </div>
      {orders.error && (
        <ErrorMessage error={orders.error} onRetry={orders.reload}>
          {list && <span className="muted small">Showing the orders as they were last read.</span>}
        </ErrorMessage>
      )}
      {!list && orders.loading && <Spinner label="Loading your orders…" />}
      {list?.length === 0 && (
        <Empty title="No orders yet" icon="box">
          <p className="muted">When you place an order it shows up here, and its status changes live.</p>
          <Link className="btn btn-primary" href="/">
            Start shopping
          </Link>
        </Empty>
      )}
      {list && list.length > 0 && (
        <ul className="order-list" aria-label="Orders">
          {list.map((order) => (
            <li key={order.id} className="card order-card" data-testid="order" data-order-id={order.id}>
              <div className="order-main">
                <div className="order-info">
                  <span className="muted small">Order #{order.id}</span>
                  <h2 className="order-title">
                    <Link href={`/products/${order.product_id}`}>{order.product_name}</Link>
                  </h2>
                  <span className="muted small">
                    {order.quantity} × {formatMoney(order.per_cost, order.currency)} · placed {formatDateTime(order.created_at)}
                  </span>
                </div>
                <div className="order-side">
                  <StatusBadge status={order.status} />
                  <span className="strong">{formatMoney(order.total_cost, order.currency)}</span>
                </div>
              </div>
              {order.status === "Created" && (
                <div className="order-actions">
                  <span className="muted small">Preparing for dispatch</span>
                  <button
                    type="button"
                    className="btn btn-small btn-danger-ghost"
                    disabled={cancelling === order.id}
                    onClick={() => void cancel(order)}
                  >
                    {cancelling === order.id ? "Cancelling…" : "Cancel order"}
                    <span className="sr-only"> #{order.id}</span>
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
