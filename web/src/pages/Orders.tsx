import { useState } from "react";

import { Empty, ErrorMessage, Spinner } from "../components/Feedback";
import { Link } from "../components/Link";
import { StatusBadge } from "../components/StatusBadge";
import { useAuth } from "../hooks/auth";
import { useToast } from "../hooks/toast";
import { useOrderStream } from "../hooks/useOrderStream";
import { toApiError, useResource } from "../hooks/useResource";
import { formatDateTime } from "../lib/format";
import { formatMoney } from "../lib/money";
import type { StreamState } from "../lib/sse";
import { applyStatus, type Order } from "../lib/types";

const STREAM_TEXT: Record<StreamState, string> = {
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  closed: "Not live",
};

export function OrdersPage() {
  const { api, session } = useAuth();
  const notify = useToast();
  const [cancelling, setCancelling] = useState<number | null>(null);
  const orders = useResource(session ? `orders-${session.id}` : null, (signal) =>
    api.get<Order[]>("/api/orders", { signal, query: { limit: 100 } }),
  );

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

  const cancel = async (order: Order) => {
    setCancelling(order.id);
    try {
      const updated = await api.post<Order>(`/api/orders/${order.id}/cancel`);
      orders.update((list) => list.map((o) => (o.id === updated.id ? { ...o, ...updated } : o)));
      notify(`Order #${order.id} is cancelled.`, "info");
    } catch (caught) {
      notify(toApiError(caught).message, "error");
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
        <span className={`live live-${stream}`} data-testid="stream-state" title="Status changes appear here as they happen">
          <span className="live-dot" aria-hidden="true" /> {STREAM_TEXT[stream]}
        </span>
      </div>
      {orders.error && <ErrorMessage error={orders.error} onRetry={orders.reload} />}
      {!list && orders.loading && <Spinner label="Loading your orders…" />}
      {list?.length === 0 && (
        <Empty title="No orders yet" icon="📦">
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
                <div>
                  <span className="muted small">Order #{order.id}</span>
                  <h3 className="order-title">
                    <Link href={`/products/${order.product_id}`}>{order.product_name}</Link>
                  </h3>
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
