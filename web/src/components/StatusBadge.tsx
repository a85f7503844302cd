import type { OrderStatus } from "../lib/types";

const ICONS: Record<OrderStatus, string> = { Created: "●", Dispatched: "✓", Cancelled: "✕" };
const LABELS: Record<OrderStatus, string> = { Created: "Created", Dispatched: "Dispatched", Cancelled: "Cancelled" };

export function StatusBadge({ status }: { status: OrderStatus }) {
  return (
    <span className={`badge badge-${status.toLowerCase()}`} data-status={status}>
      <span aria-hidden="true">{ICONS[status]}</span> {LABELS[status]}
    </span>
  );
}

export function PaidBadge({ paid }: { paid: boolean }) {
  return <span className={`badge ${paid ? "badge-paid" : "badge-unpaid"}`}>{paid ? "Paid" : "Unpaid"}</span>;
}
