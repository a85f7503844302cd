import type { TransactionState } from "../lib/transactions";
import type { OrderStatus } from "../lib/types";
import { Icon, type IconName } from "./Icon";

const ICONS: Record<OrderStatus, IconName> = {
  Created: "dot",
  Paid: "check",
  "Payment declined": "cross",
  Dispatched: "check",
  Cancelled: "cross",
};

export function StatusBadge({ status }: { status: OrderStatus }) {
  return (
    <span className={`badge badge-${status.toLowerCase().replaceAll(" ", "-")}`} data-status={status}>
      <Icon name={ICONS[status]} size={14} /> {status}
    </span>
  );
}

const TRANSACTION_TEXT: Record<TransactionState, string> = { paid: "Paid", unpaid: "Unpaid", voided: "Voided" };

export function TransactionBadge({ state }: { state: TransactionState }) {
  return <span className={`badge badge-${state}`}>{TRANSACTION_TEXT[state]}</span>;
}
