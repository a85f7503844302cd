import { useEffect, useRef, useState, type RefObject } from "react";

import { Empty, ErrorMessage, Spinner } from "../components/Feedback";
import { Link } from "../components/Link";
import { StatusBadge } from "../components/StatusBadge";
import { useAuth } from "../hooks/auth";
import { useToast } from "../hooks/toast";
import { useAutoRetry } from "../hooks/useAutoRetry";
import { useOnline } from "../hooks/useOnline";
import { useOrderStream } from "../hooks/useOrderStream";
import { usePaymentRequired } from "../hooks/usePaymentRequired";
import { toApiError, useResource } from "../hooks/useResource";
import { formatDateTime } from "../lib/format";
import { humanMessage } from "../lib/messages";
import { formatMoney } from "../lib/money";
import { applyStatus, canCancel, needsDetails, placedOrders, statusNote, targetOrder } from "../lib/orders";
import type { StreamState } from "../lib/sse";
import type { Order } from "../lib/types";

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

/** The order a link names (`/orders#order-12`, from the payments page): scrolled to and focused once listed. */
function useTargetOrder(list: readonly Order[] | undefined): { id: number | null; ref: RefObject<HTMLLIElement | null> } {
  const [id] = useState(() => targetOrder(window.location.hash));
  const ref = useRef<HTMLLIElement>(null);
  const shown = useRef(false);
  const listed = list?.some((order) => order.id === id) ?? false;
  useEffect(() => {
    if (listed && !shown.current && ref.current) {
      shown.current = true;
      ref.current.scrollIntoView({ block: "center" });
      ref.current.focus({ preventScroll: true });
    }
  }, [listed]);
  return { id, ref };
}

interface OrderActionsProps {
  order: Order;
  paymentRequired: boolean | undefined;
  cancelling: boolean;
  onCancel: () => void;
}

function OrderActions({ order, paymentRequired, cancelling, onCancel }: OrderActionsProps) {
  const note = statusNote(order, paymentRequired);
  const cancellable = canCancel(order.status);
  if (note === null && !cancellable) {
    return null;
  }
  const declined = order.status === "Payment declined";
  return (
    <div className="order-actions">
      {note && (
        <span className={declined ? "small order-declined" : "muted small"} data-testid="order-note">
          {note}
          {declined && order.decline_reason === "limit_exceeded" && (
            <>
              {" "}
              <Link href="/payments">See your limit</Link>
            </>
          )}
        </span>
      )}
      {cancellable && (
        <button type="button" className="btn btn-small btn-danger-ghost" disabled={cancelling} onClick={onCancel}>
          {cancelling ? "Cancelling…" : "Cancel order"}
          <span className="sr-only"> #{order.id}</span>
        </button>
      )}
    </div>
  );
}

export function OrdersPage() {
  const { api, session } = useAuth();
  const notify = useToast();
  const online = useOnline();
  const paymentRequired = usePaymentRequired();
  const [cancelling, setCancelling] = useState<number | null>(null);
  const orders = useResource(session ? `orders-${session.id}` : null, (signal) =>
    api.get<Order[]>("/api/orders", { signal, query: { limit: 100 } }),
  );
  // No network or a restarting service: try again by itself, at once when the network is back.
  useAutoRetry(orders.error, orders.reload);

  // The orders the cart has just placed show at once, while the list is read.
  const [placed] = useState(() => placedOrders.recent());
  const [announcement, setAnnouncement] = useState("");

  const stream = useOrderStream(
    api,
    session?.id ?? null,
    (change) => {
      if (orders.data?.some((order) => order.id === change.order_id) && !needsDetails(change)) {
        orders.update((list) => applyStatus(list, change) ?? list);
      } else {
        orders.reload(); // an order we have not read yet (placed in another tab), or the decline's reason
      }
      setAnnouncement(`Order #${change.order_id}: ${change.status}.`);
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
      const voided = updated.transaction_id !== null ? ` Its charge of ${formatMoney(updated.total_cost, updated.currency)} is voided.` : "";
      notify(`Order #${order.id} is cancelled.${voided}`, "info");
    } catch (caught) {
      notify(humanMessage(toApiError(caught)), "error");
      orders.reload();
    } finally {
      setCancelling(null);
    }
  };

  const list = orders.data ?? (orders.error ? undefined : (placed ?? undefined));
  const target = useTargetOrder(list);
  return (
    <>
      <title>My orders · ShopMesh</title>
      <div className="page-head">
        <h1>My orders</h1>
        <span className={`live live-${live}`} data-testid="stream-state" data-state={live} title="Status changes appear here as they happen">
          <span className="live-dot" aria-hidden="true" /> {LIVE_TEXT[live]}
        </span>
      </div>
      <p className="sr-only" role="status" aria-live="polite">
        {announcement}
      </p>
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
            <li
              key={order.id}
              id={`order-${order.id}`}
              ref={order.id === target.id ? target.ref : undefined}
              tabIndex={order.id === target.id ? -1 : undefined}
              className={`card order-card${order.id === target.id ? " order-card-target" : ""}`}
              data-testid="order"
              data-order-id={order.id}
            >
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
              <OrderActions
                order={order}
                paymentRequired={paymentRequired}
                cancelling={cancelling === order.id}
                onCancel={() => void cancel(order)}
              />
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
