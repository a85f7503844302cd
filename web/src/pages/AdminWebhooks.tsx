import { useState } from "react";

import { CardTable } from "../components/CardTable";
import { Empty, ErrorMessage, Spinner } from "../components/Feedback";
import { useAuth } from "../hooks/auth";
import { useToast } from "../hooks/toast";
import { toApiError, useResource } from "../hooks/useResource";
import { formatDateTime } from "../lib/format";
import { humanMessage } from "../lib/messages";
import type { WebhookDelivery } from "../lib/types";

const DELIVERY_COLUMNS = [
  { label: "Delivery" },
  { label: "Order" },
  { label: "Receiver" },
  { label: "Attempts", numeric: true },
  { label: "Last error" },
  { label: "Since" },
];

export function AdminWebhooks() {
  const { api } = useAuth();
  const notify = useToast();
  const [retrying, setRetrying] = useState<number | null>(null);
  const failed = useResource("failed-webhooks", (signal) =>
    api.get<WebhookDelivery[]>("/api/dispatcher/webhooks/failed", { signal, query: { limit: 100 } }),
  );

  const retry = async (delivery: WebhookDelivery) => {
    setRetrying(delivery.id);
    try {
      await api.post<WebhookDelivery>(`/api/dispatcher/webhooks/${delivery.id}/retry`);
      failed.update((list) => list.filter((d) => d.id !== delivery.id));
      notify(`Delivery #${delivery.id} is queued again.`);
    } catch (caught) {
      notify(humanMessage(toApiError(caught)), "error");
      failed.reload();
    } finally {
      setRetrying(null);
    }
  };

  return (
    <>
      <div className="section-head">
        <h2>Failed webhook deliveries</h2>
        <button type="button" className="btn btn-ghost" onClick={failed.reload} disabled={failed.loading}>
          {failed.loading ? "Refreshing…" : "Refresh"}
        </button>
      </div>
      <p className="muted">Order notifications the dispatcher gave up on after every attempt. Retrying queues a fresh set of attempts.</p>
      {failed.error && <ErrorMessage error={failed.error} onRetry={failed.reload} />}
      {!failed.data && failed.loading && <Spinner />}
      {failed.data?.length === 0 && (
        <Empty title="No failed deliveries" icon="check" level={3}>
          <p className="muted">Every webhook reached its receiver.</p>
        </Empty>
      )}
      {failed.data && failed.data.length > 0 && (
        <CardTable columns={DELIVERY_COLUMNS} actions>
          {failed.data.map((delivery) => (
            <tr key={delivery.id} data-testid="failed-webhook">
              <td className="card-title">Delivery #{delivery.id}</td>
              <td data-label="Order">#{delivery.order_id}</td>
              <td className="ellipsis" data-label="Receiver" title={delivery.url}>
                {delivery.url}
              </td>
              <td className="num" data-label="Attempts">
                {delivery.attempts}
              </td>
              <td className="ellipsis" data-label="Last error" title={delivery.last_error ?? ""}>
                {delivery.last_error ?? "—"}
              </td>
              <td className="muted" data-label="Since">
                {formatDateTime(delivery.created_at)}
              </td>
              <td className="actions">
                <button type="button" className="btn btn-small" disabled={retrying === delivery.id} onClick={() => void retry(delivery)}>
                  {retrying === delivery.id ? "Retrying…" : "Retry"}
                  <span className="sr-only"> delivery #{delivery.id}</span>
                </button>
              </td>
            </tr>
          ))}
        </CardTable>
      )}
    </>
  );
}
