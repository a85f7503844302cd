import { useState, type ChangeEvent, type SubmitEvent, type ReactNode } from "react";

import { ErrorMessage, Notice, Spinner } from "../components/Feedback";
import { TextField } from "../components/Field";
import { useAuth } from "../hooks/auth";
import { toApiError, useResource } from "../hooks/useResource";
import { ApiError } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { fieldErrors } from "../lib/messages";
import type { Customer, CustomerInput, User } from "../lib/types";

interface FormState {
  name: string;
  email: string;
  address: string;
  city: string;
  mobile: string;
  location: string;
  interests: string;
}

const BLANK: FormState = { name: "", email: "", address: "", city: "", mobile: "", location: "", interests: "" };

export function toForm(customer: Customer | null): FormState {
  if (!customer) {
    return BLANK;
  }
  return {
    name: customer.name,
    email: customer.email ?? "",
    address: customer.address ?? "",
    city: customer.city ?? "",
    mobile: customer.mobile ?? "",
    location: customer.location ?? "",
    interests: customer.interests.join(", "),
  };
}

export function toInput(form: FormState): CustomerInput {
  const optional = (value: string) => value.trim() || null;
  return {
    name: form.name.trim(),
    email: form.email.trim(),
    address: optional(form.address),
    city: optional(form.city),
    mobile: optional(form.mobile),
    location: optional(form.location),
    interests: [...new Set(form.interests.split(",").map((item) => item.trim()).filter(Boolean))],
  };
}

/** A customer profile form, shared with the admin's customer editor. */
export function CustomerForm({
  initial,
  submitLabel,
  onSubmit,
  extra,
}: {
  initial: FormState;
  submitLabel: string;
  onSubmit: (input: CustomerInput) => Promise<void>;
  extra?: ReactNode;
}) {
  const [form, setForm] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const errors = fieldErrors(error);
  const set = (key: keyof FormState) => (event: ChangeEvent<HTMLInputElement>) => {
    setForm((current) => ({ ...current, [key]: event.target.value }));
  };

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSubmit(toInput(form));
    } catch (caught) {
      setError(toApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="form-grid" onSubmit={(event) => void submit(event)}>
      {extra}
      <TextField label="Full name" required maxLength={100} autoComplete="name" value={form.name} onChange={set("name")} error={errors.name} />
      <TextField label="Email" type="email" required maxLength={254} autoComplete="email" value={form.email} onChange={set("email")} error={errors.email} />
      <TextField label="Address" maxLength={200} autoComplete="street-address" value={form.address} onChange={set("address")} error={errors.address} />
      <TextField label="City" maxLength={100} autoComplete="address-level2" value={form.city} onChange={set("city")} error={errors.city} />
      <TextField label="Mobile" type="tel" maxLength={20} autoComplete="tel" value={form.mobile} onChange={set("mobile")} error={errors.mobile} hint="Digits, spaces, + - ( )" />
      <TextField label="Location" maxLength={100} value={form.location} onChange={set("location")} error={errors.location} />
      <TextField
        label="Interests"
        wide
        value={form.interests}
        onChange={set("interests")}
        error={errors.interests}
        hint="Separate with commas, e.g. coffee, hiking"
      />
      {error && (
        <div className="span-2">
          <ErrorMessage error={error} fields={Object.keys(errors)} />
        </div>
      )}
      <div className="span-2 form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Saving…" : submitLabel}
        </button>
      </div>
    </form>
  );
}

export function ProfilePage() {
  const { api, session } = useAuth();
  const [saved, setSaved] = useState<string | null>(null);
  const account = useResource(session ? `me-${session.id}` : null, (signal) => api.get<User>("/auth/me", { signal }));
  const profile = useResource(session ? `customer-${session.id}` : null, async (signal) => {
    try {
      return await api.get<Customer>("/api/customers/me", { signal });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        return null; // no profile yet: the form creates it
      }
      throw error;
    }
  });

  const save = async (input: CustomerInput) => {
    const result = await api.put<Customer>("/api/customers/me", input);
    profile.update(() => result);
    setSaved(profile.data ? "Your profile is saved." : "Your profile is created.");
  };

  return (
    <>
      <title>Profile · ShopMesh</title>
      <h1>Your profile</h1>
      <div className="profile-layout">
        <aside className="panel account-card" aria-label="Account">
          <div className="avatar avatar-large" aria-hidden="true">
            {session?.username.slice(0, 1).toUpperCase()}
          </div>
          <h2>{session?.username}</h2>
          {account.data && (
            <dl className="summary-list">
              <div>
                <dt>Role</dt>
                <dd>{account.data.role === "admin" ? "Administrator" : "Customer"}</dd>
              </div>
              <div>
                <dt>Member since</dt>
                <dd>{formatDateTime(account.data.created_at)}</dd>
              </div>
              <div>
                <dt>Account id</dt>
                <dd>{account.data.id}</dd>
              </div>
            </dl>
          )}
          {account.error && <ErrorMessage error={account.error} onRetry={account.reload} />}
        </aside>
        <section className="panel grow" aria-labelledby="details-title">
          <h2 id="details-title">Contact details</h2>
          {saved && <Notice>{saved}</Notice>}
          {profile.error && <ErrorMessage error={profile.error} onRetry={profile.reload} />}
          {profile.loading && profile.data === undefined && <Spinner label="Loading your profile…" />}
          {profile.data !== undefined && (
            <>
              {profile.data === null && <p className="muted">You have no profile yet: fill it in to speed up your orders.</p>}
              <CustomerForm
                key={profile.data?.updated_at ?? "new"}
                initial={toForm(profile.data)}
                submitLabel={profile.data ? "Save changes" : "Create profile"}
                onSubmit={async (input) => {
                  setSaved(null);
                  await save(input);
                }}
              />
            </>
          )}
        </section>
      </div>
    </>
  );
}

