import { useState, type SubmitEvent } from "react";

import { CardTable } from "../components/CardTable";
import { Empty, ErrorMessage, Notice, Spinner } from "../components/Feedback";
import { TextField } from "../components/Field";
import { LimitBar } from "../components/LimitBar";
import { Link } from "../components/Link";
import { TransactionBadge } from "../components/StatusBadge";
import { useAuth } from "../hooks/auth";
import { toApiError, useResource } from "../hooks/useResource";
import type { ApiError } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { randomId } from "../lib/id";
import { fitsLimit, type PaymentSummary } from "../lib/limit";
import { fieldErrors } from "../lib/messages";
import { formatMoney, parseAmount } from "../lib/money";
import { orderHref } from "../lib/orders";
import { filterTransactions, transactionState, unpaidOf, unpaidTotal, type TransactionFilter } from "../lib/transactions";
import type { PayResult, Transaction } from "../lib/types";

const TRANSACTION_COLUMNS = [
  { label: "Description" },
  { label: "Date" },
  { label: "Amount", numeric: true },
  { label: "Status" },
];

/** The outcome of the last thing done on the page; the next one replaces it. */
export type Outcome =
  | { from: "add" | "pay"; kind: "success"; text: string }
  | { from: "add" | "pay"; kind: "error"; error: ApiError };

function OutcomeMessage({ outcome, from, fields = [] }: { outcome: Outcome | null; from: Outcome["from"]; fields?: readonly string[] }) {
  if (outcome?.from !== from) {
    return null;
  }
  if (outcome.kind === "success") {
    return <Notice testId={`${from}-result`}>{outcome.text}</Notice>;
  }
  const refused = outcome.error.code === "limit_exceeded";
  return <ErrorMessage error={outcome.error} fields={fields} lead={refused ? "Refused:" : undefined} testId={`${from}-result`} />;
}

function NewTransaction({
  summary,
  outcome,
  onOutcome,
}: {
  summary: PaymentSummary | undefined;
  outcome: Outcome | null;
  onOutcome: (outcome: Outcome) => void;
}) {
  const { api } = useAuth();
  const [amount, setAmount] = useState("");
  const [description, setDescription] = useState("");
  const [fieldError, setFieldError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const parsed = parseAmount(amount);
  const overLimit = parsed.ok && summary !== undefined && !fitsLimit(summary, parsed.value);
  const serverFields = outcome?.from === "add" && outcome.kind === "error" ? fieldErrors(outcome.error) : {};

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (!parsed.ok) {
      setFieldError(parsed.error);
      return;
    }
    setFieldError(undefined);
    setBusy(true);
    try {
      const created = await api.post<Transaction>(
        "/payment/transactions",
        { amount: parsed.value, description: description.trim() },
        { headers: { "Idempotency-Key": randomId() } },
      );
      setAmount("");
      setDescription("");
      onOutcome({ from: "add", kind: "success", text: `Added ${formatMoney(created.amount)}${created.description ? ` for ${created.description}` : ""}.` });
    } catch (caught) {
      onOutcome({ from: "add", kind: "error", error: toApiError(caught) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="new-tx-title">
      <h2 id="new-tx-title">New transaction</h2>
      <form className="tx-form" onSubmit={(event) => void submit(event)} noValidate>
        <TextField
          label="Amount (USD)"
          name="amount"
          inputMode="decimal"
          placeholder="0.00"
          value={amount}
          error={fieldError ?? serverFields.amount}
          hint={overLimit ? "This is more than your remaining limit: it will be refused." : undefined}
          onChange={(event) => setAmount(event.target.value)}
        />
        <TextField
          label="Description"
          name="description"
          maxLength={255}
          placeholder="What is it for?"
          value={description}
          error={serverFields.description}
          onChange={(event) => setDescription(event.target.value)}
        />
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Adding…" : "Add transaction"}
        </button>
      </form>
      <OutcomeMessage outcome={outcome} from="add" fields={Object.keys(serverFields)} />
    </section>
  );
}

/** A voided charge (its order was cancelled) is struck through, and says so in words. */
function TransactionRow({ tx }: { tx: Transaction }) {
  const state = transactionState(tx);
  const voided = state === "voided";
  const description = tx.description || <span className="muted">No description</span>;
  const amount = formatMoney(tx.amount);
  return (
    <tr data-testid="transaction" data-paid={tx.is_paid} data-state={state} data-order-id={tx.order_id ?? undefined} className={voided ? "tx-voided" : undefined}>
      <td className="card-title">
        {voided ? <s>{description}</s> : description}
        {tx.order_id !== null && (
          <span className="tx-order small">
            <Link href={orderHref(tx.order_id)}>Order #{tx.order_id}</Link>
          </span>
        )}
      </td>
      <td className="muted" data-label="Date">
        {formatDateTime(tx.created_at)}
      </td>
      <td className="num strong" data-label="Amount">
        {voided ? (
          <>
            <s>{amount}</s>
            <span className="sr-only"> (voided, not counted)</span>
          </>
        ) : (
          amount
        )}
      </td>
      <td data-label="Status">
        <TransactionBadge state={state} />
      </td>
    </tr>
  );
}

function TransactionRows({ shown }: { shown: readonly Transaction[] }) {
  return (
    <CardTable columns={TRANSACTION_COLUMNS} testId="transactions">
      {shown.map((tx) => (
        <TransactionRow key={tx.id} tx={tx} />
      ))}
    </CardTable>
  );
}

export function PaymentsPage() {
  const { api, session } = useAuth();
  const [filter, setFilter] = useState<TransactionFilter>("all");
  const [paying, setPaying] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const key = session ? String(session.id) : null;
  const summary = useResource(key && `summary-${key}`, (signal) => api.get<PaymentSummary>("/api/payments/summary", { signal }));
  const transactions = useResource(key && `tx-${key}`, (signal) => api.get<Transaction[]>("/api/payments/transactions", { signal }));

  const report = (next: Outcome) => {
    setOutcome(next);
    summary.reload();
    transactions.reload();
  };

  const all = transactions.data ?? [];
  const unpaid = unpaidOf(all);
  const paidCount = filterTransactions(all, "paid").length;
  const shown = filterTransactions(all, filter);

  const payAll = async () => {
    setPaying(true);
    try {
      const result = await api.post<PayResult>("/payment/transactions/pay", undefined, {
        headers: { "Idempotency-Key": randomId() },
      });
      report({ from: "pay", kind: "success", text: result.message });
    } catch (caught) {
      report({ from: "pay", kind: "error", error: toApiError(caught) });
    } finally {
      setPaying(false);
    }
  };

  return (
    <>
      <title>Payments · ShopMesh</title>
      <h1>Payments</h1>
      <div className="payments-layout">
        <div className="stack">
          <section className="panel">
            {summary.error && <ErrorMessage error={summary.error} onRetry={summary.reload} />}
            {!summary.data && summary.loading && <Spinner label="Loading your limit…" />}
            {summary.data && <LimitBar summary={summary.data} />}
            {!session && <p className="muted">Sign in again to see your limit.</p>}
          </section>
          <NewTransaction summary={summary.data} outcome={outcome} onOutcome={report} />
        </div>
        <section className="panel grow" aria-labelledby="tx-title">
          <div className="section-head">
            <h2 id="tx-title">Transactions</h2>
            <button type="button" className="btn btn-primary" disabled={paying || unpaid.length === 0} onClick={() => void payAll()}>
              {paying ? "Paying…" : unpaid.length ? `Pay all (${formatMoney(unpaidTotal(all))})` : "Nothing to pay"}
            </button>
          </div>
          <OutcomeMessage outcome={outcome} from="pay" />
          <div className="segmented" role="group" aria-label="Show">
            {(["all", "unpaid", "paid"] as const).map((value) => (
              <button key={value} type="button" aria-pressed={filter === value} onClick={() => setFilter(value)}>
                {value === "all" ? `All (${all.length})` : value === "unpaid" ? `Unpaid (${unpaid.length})` : `Paid (${paidCount})`}
              </button>
            ))}
          </div>
          {!session && <p className="muted">Sign in again to see your transactions.</p>}
          {transactions.error && <ErrorMessage error={transactions.error} onRetry={transactions.reload} />}
          {!transactions.data && transactions.loading && <Spinner label="Loading your transactions…" />}
          {transactions.data && shown.length === 0 && (
            <Empty title={all.length === 0 ? "No transactions yet" : `No ${filter} transactions`} icon="wallet" level={3}>
              {all.length === 0 && <p className="muted">Add one with the form; it counts toward your limit.</p>}
            </Empty>
          )}
          {shown.length > 0 && <TransactionRows shown={shown} />}
        </section>
      </div>
    </>
  );
}
