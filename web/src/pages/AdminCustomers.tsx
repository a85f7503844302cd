import { useRef, useState, type SubmitEvent } from "react";

import { CardTable } from "../components/CardTable";
import { Empty, ErrorMessage, Spinner } from "../components/Feedback";
import { TextField } from "../components/Field";
import { Pager } from "../components/Pager";
import { RowActions } from "../components/RowActions";
import { useAuth } from "../hooks/auth";
import { useFocusOnMount } from "../hooks/useFocusOnMount";
import { useToast } from "../hooks/toast";
import { toApiError, useResource } from "../hooks/useResource";
import { totalCount } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { humanMessage } from "../lib/messages";
import type { Customer } from "../lib/types";
import { CustomerForm, toForm } from "./Profile";

const PAGE = 20;
const CUSTOMER_COLUMNS = [
  { label: "Name" },
  { label: "Email" },
  { label: "City" },
  { label: "User" },
  { label: "Since" },
];

function CustomerEditor({ customer, onDone }: { customer: Customer | null; onDone: (saved: Customer | null) => void }) {
  const { api } = useAuth();
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const [userId, setUserId] = useState("");
  const [userIdError, setUserIdError] = useState<string | undefined>();
  return (
    <section className="panel editor" aria-labelledby="customer-editor-title">
      <h2 id="customer-editor-title" ref={heading} tabIndex={-1}>{customer ? `Edit ${customer.name}` : "New customer"}</h2>
      <CustomerForm
        initial={toForm(customer)}
        submitLabel={customer ? "Save customer" : "Create customer"}
        extra={
          customer ? null : (
            <TextField
              label="User id"
              inputMode="numeric"
              required
              value={userId}
              error={userIdError}
              hint="The account this profile belongs to"
              onChange={(event) => setUserId(event.target.value)}
            />
          )
        }
        onSubmit={async (input) => {
          if (customer) {
            onDone(await api.put<Customer>(`/api/customers/${customer.id}`, input));
            return;
          }
          if (!/^\d+$/.test(userId.trim())) {
            setUserIdError("Enter the user's numeric id.");
            return;
          }
          setUserIdError(undefined);
          onDone(await api.post<Customer>("/api/customers", { ...input, user_id: Number(userId) }));
        }}
      />
      <button type="button" className="btn btn-ghost" onClick={() => onDone(null)}>
        Cancel
      </button>
    </section>
  );
}

export function AdminCustomers() {
  const { api } = useAuth();
  const notify = useToast();
  const [query, setQuery] = useState({ q: "", offset: 0 });
  const [text, setText] = useState("");
  const [editing, setEditing] = useState<Customer | "new" | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const newButton = useRef<HTMLButtonElement>(null);
  const customers = useResource(`admin-customers-${query.q}-${query.offset}`, async (signal) => {
    const response = await api.request<Customer[]>("GET", "/api/customers", {
      signal,
      query: { q: query.q, limit: PAGE, offset: query.offset },
    });
    return { items: response.data, total: totalCount(response.headers) };
  });

  const search = (event: SubmitEvent) => {
    event.preventDefault();
    setQuery({ q: text.trim(), offset: 0 });
  };

  const remove = async (customer: Customer) => {
    setConfirming(null);
    try {
      await api.delete(`/api/customers/${customer.id}`);
      notify(`${customer.name}'s profile is deleted.`, "info");
    } catch (caught) {
      notify(humanMessage(toApiError(caught)), "error");
    }
    customers.reload();
  };

  return (
    <>
      <div className="section-head">
        <h2>Customers</h2>
        <button ref={newButton} type="button" className="btn btn-primary" onClick={() => setEditing("new")}>
          New customer
        </button>
      </div>
      {editing && (
        <CustomerEditor
          key={editing === "new" ? "new" : editing.id}
          customer={editing === "new" ? null : editing}
          onDone={(saved) => {
            setEditing(null);
            newButton.current?.focus();
            if (saved) {
              notify(`${saved.name} is saved.`);
              customers.reload();
            }
          }}
        />
      )}
      <form className="toolbar" role="search" onSubmit={search}>
        <div className="field grow">
          <label htmlFor="customer-search">Search customers</label>
          <div className="input-group">
            <input id="customer-search" type="search" placeholder="Name, email or city" value={text} maxLength={100} onChange={(e) => setText(e.target.value)} />
            <button type="submit" className="btn">
              Search
            </button>
          </div>
        </div>
      </form>
      {customers.error && <ErrorMessage error={customers.error} onRetry={customers.reload} />}
      {!customers.data && customers.loading && <Spinner />}
      {customers.data?.items.length === 0 && <Empty title={query.q ? "No customer matches" : "No customers yet"} level={3} />}
      {customers.data && customers.data.items.length > 0 && (
        <CardTable columns={CUSTOMER_COLUMNS} actions>
          {customers.data.items.map((customer) => (
            <tr key={customer.id} data-testid="admin-customer">
              <td className="strong card-title">{customer.name}</td>
              <td data-label="Email">
                {customer.email ?? <span className="muted">—</span>}
              </td>
              <td data-label="City">{customer.city ?? <span className="muted">—</span>}</td>
              <td data-label="User">#{customer.user_id}</td>
              <td className="muted" data-label="Since">
                {formatDateTime(customer.created_at)}
              </td>
              <td className="actions">
                <RowActions
                  name={customer.name}
                  confirming={confirming === customer.id}
                  onEdit={() => setEditing(customer)}
                  onAsk={() => setConfirming(customer.id)}
                  onConfirm={() => void remove(customer)}
                  onKeep={() => setConfirming(null)}
                />
              </td>
            </tr>
          ))}
        </CardTable>
      )}
      {customers.data && (
        <Pager
          offset={query.offset}
          limit={PAGE}
          shown={customers.data.items.length}
          total={customers.data.total}
          onPage={(offset) => setQuery((q) => ({ ...q, offset }))}
        />
      )}
    </>
  );
}
