import type { OrderStatus } from "../lib/types";
import { Icon, type IconName } from "./Icon";

const ICONS: Record<OrderStatus, IconName> = { Created: "dot", Dispatched: "check", Cancelled: "cross" };

export function StatusBadge({ status }: { status: OrderStatus }) {
  return (
    <span className={`badge badge-${status.toLowerCase()}`} data-status={status}>
      <Icon name={ICONS[status]} size={14} /> {status}
    </span>
  );
}

export function PaidBadge({ paid }: { paid: boolean }) {
  return <span className={`badge ${paid ? "badge-paid" : "badge-unpaid"}`}>{paid ? "Paid" : "Unpaid"}</span>;
}
