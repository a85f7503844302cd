import { useState } from "react";

import { Empty, ErrorMessage, Spinner } from "../components/Feedback";
import { useAuth } from "../hooks/auth";
import { useToast } from "../hooks/toast";
import { toApiError, useResource } from "../hooks/useResource";
import { formatDateTime } from "../lib/format";
import type { WebhookDelivery } from "../lib/types";

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
      notify(toApiError(caught).message, "error");
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
        <Empty title="No failed deliveries" icon="✓">
          <p className="muted">Every webhook reached its receiver.</p>
        </Empty>
      )}
      {failed.data && failed.data.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Delivery</th>
                <th scope="col">Order</th>
                <th scope="col">Receiver</th>
                <th scope="col" className="num">
                  Attempts
                </th>
                <th scope="col">Last error</th>
                <th scope="col">Since</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {failed.data.map((delivery) => (
                <tr key={delivery.id} data-testid="failed-webhook">
                  <td>#{delivery.id}</td>
                  <td>#{delivery.order_id}</td>
                  <td className="ellipsis" title={delivery.url}>
                    {delivery.url}
                  </td>
                  <td className="num">{delivery.attempts}</td>
                  <td className="ellipsis" title={delivery.last_error ?? ""}>
                    {delivery.last_error ?? "—"}
                  </td>
                  <td className="muted">{formatDateTime(delivery.created_at)}</td>
                  <td className="actions">
                    <button type="button" className="btn btn-small" disabled={retrying === delivery.id} onClick={() => void retry(delivery)}>
                      {retrying === delivery.id ? "Retrying…" : "Retry"}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
