import { useState, type SubmitEvent } from "react";

import { Empty, ErrorMessage, Notice, Spinner } from "../components/Feedback";
import { TextField } from "../components/Field";
import { LimitBar } from "../components/LimitBar";
import { PaidBadge } from "../components/StatusBadge";
import { useAuth } from "../hooks/auth";
import { toApiError, useResource } from "../hooks/useResource";
import type { ApiError } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { randomId } from "../lib/id";
import { fitsLimit, type PaymentSummary } from "../lib/limit";
import { formatMoney, parseAmount, sumMoney } from "../lib/money";
import type { PayResult, Transaction } from "../lib/types";

type Filter = "all" | "unpaid" | "paid";

function NewTransaction({ summary, onCreated }: { summary: PaymentSummary | undefined; onCreated: () => void }) {
  const { api } = useAuth();
  const [amount, setAmount] = useState("");
  const [description, setDescription] = useState("");
  const [fieldError, setFieldError] = useState<string | undefined>();
  const [refusal, setRefusal] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const parsed = parseAmount(amount);
  const overLimit = parsed.ok && summary !== undefined && !fitsLimit(summary, parsed.value);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setRefusal(null);
    if (!parsed.ok) {
      setFieldError(parsed.error);
      return;
    }
    setFieldError(undefined);
    setBusy(true);
    try {
      await api.post<Transaction>(
        "/payment/transactions",
        { amount: parsed.value, description: description.trim() },
        { headers: { "Idempotency-Key": randomId() } },
      );
      setAmount("");
      setDescription("");
    } catch (caught) {
      setRefusal(toApiError(caught));
    } finally {
      setBusy(false);
      onCreated();
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
          error={fieldError}
          hint={overLimit ? "This is more than your remaining limit: it will be refused." : undefined}
          onChange={(event) => setAmount(event.target.value)}
        />
        <TextField
          label="Description"
          name="description"
          maxLength={255}
          placeholder="What is it for?"
          value={description}
          onChange={(event) => setDescription(event.target.value)}
        />
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Adding…" : "Add transaction"}
        </button>
      </form>
      {refusal && (
        <div className="alert alert-error" role="alert" data-testid="transaction-error">
          <span>
            <strong>{refusal.code === "limit_exceeded" ? "Refused: " : ""}</strong>
            {refusal.message}
          </span>
        </div>
      )}
    </section>
  );
}

export function PaymentsPage() {
  const { api, session } = useAuth();
  const [filter, setFilter] = useState<Filter>("all");
  const [paying, setPaying] = useState(false);
  const [payMessage, setPayMessage] = useState<string | null>(null);
  const [payError, setPayError] = useState<ApiError | null>(null);
  const key = session ? String(session.id) : null;
  const summary = useResource(key && `summary-${key}`, (signal) => api.get<PaymentSummary>("/api/payments/summary", { signal }));
  const transactions = useResource(key && `tx-${key}`, (signal) => api.get<Transaction[]>("/api/payments/transactions", { signal }));

  const refresh = () => {
    summary.reload();
    transactions.reload();
  };

  const all = transactions.data ?? [];
  const unpaid = all.filter((tx) => !tx.is_paid);
  const shown = filter === "all" ? all : all.filter((tx) => tx.is_paid === (filter === "paid"));
  const unpaidTotal = sumMoney(unpaid.map((tx) => tx.amount));

  const payAll = async () => {
    setPaying(true);
    setPayError(null);
    setPayMessage(null);
    try {
      const result = await api.post<PayResult>("/payment/transactions/pay", undefined, {
        headers: { "Idempotency-Key": randomId() },
      });
      setPayMessage(result.message);
    } catch (caught) {
      setPayError(toApiError(caught));
    } finally {
      setPaying(false);
      refresh();
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
          </section>
          <NewTransaction summary={summary.data} onCreated={refresh} />
        </div>
        <section className="panel grow" aria-labelledby="tx-title">
          <div className="section-head">
            <h2 id="tx-title">Transactions</h2>
            <button
              type="button"
              className="btn btn-primary"
              disabled={paying || unpaid.length === 0}
              onClick={() => void payAll()}
            >
              {paying ? "Paying…" : unpaid.length ? `Pay all (${formatMoney(unpaidTotal)})` : "Nothing to pay"}
            </button>
          </div>
          {payMessage && <Notice>{payMessage}</Notice>}
          {payError && <ErrorMessage error={payError} />}
          <div className="segmented" role="group" aria-label="Show">
            {(["all", "unpaid", "paid"] as const).map((value) => (
              <button key={value} type="button" aria-pressed={filter === value} onClick={() => setFilter(value)}>
                {value === "all" ? `All (${all.length})` : value === "unpaid" ? `Unpaid (${unpaid.length})` : `Paid (${all.length - unpaid.length})`}
              </button>
            ))}
          </div>
          {transactions.error && <ErrorMessage error={transactions.error} onRetry={transactions.reload} />}
          {!transactions.data && transactions.loading && <Spinner label="Loading your transactions…" />}
          {transactions.data && shown.length === 0 && (
            <Empty title={all.length === 0 ? "No transactions yet" : `No ${filter} transactions`} icon="₵">
              {all.length === 0 && <p className="muted">Add one with the form; it counts toward your limit.</p>}
            </Empty>
          )}
          {shown.length > 0 && (
            <div className="table-wrap">
              <table className="table" data-testid="transactions">
                <thead>
                  <tr>
                    <th scope="col">Description</th>
                    <th scope="col">Date</th>
                    <th scope="col" className="num">
                      Amount
                    </th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((tx) => (
                    <tr key={tx.id} data-testid="transaction" data-paid={tx.is_paid}>
                      <td>{tx.description || <span className="muted">No description</span>}</td>
                      <td className="muted">{formatDateTime(tx.created_at)}</td>
                      <td className="num strong">{formatMoney(tx.amount)}</td>
                      <td>
                        <PaidBadge paid={tx.is_paid} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>
    </>
  );
}
