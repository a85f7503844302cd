import { useState, type ReactNode, type SubmitEvent } from "react";

import { ErrorMessage, Notice } from "../components/Feedback";
import { TextField } from "../components/Field";
import { Link } from "../components/Link";
import { useAuth } from "../hooks/auth";
import { useFocusOnMount } from "../hooks/useFocusOnMount";
import { toApiError } from "../hooks/useResource";
import type { ApiError } from "../lib/api";
import { fieldErrors } from "../lib/messages";
import { useLocation } from "../lib/router";

interface MessageAnswer {
  message: string;
}

/** The answer that replaces the form: it takes the focus the form's button had. */
function Done({ children }: { children: ReactNode }) {
  const here = useFocusOnMount<HTMLDivElement>();
  return (
    <div ref={here} tabIndex={-1} className="done">
      <Notice>{children}</Notice>
    </div>
  );
}

/** Asks for a reset link by email; the answer is the same whether or not the address has an account. */
export function ForgotPasswordPage() {
  const { api } = useAuth();
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const fields = fieldErrors(error);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const answer = await api.post<MessageAnswer>("/api/auth/forgot-password", { email: email.trim() });
      setSent(answer.message);
    } catch (caught) {
      setError(toApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="auth-page">
      <title>Forgot your password · ShopMesh</title>
      <div className="panel auth-card">
        <h1>Forgot your password?</h1>
        <p className="muted">Enter the email of your account and we will send you a link to choose a new password.</p>
        {sent ? (
          <Done>{sent} The link in it works once.</Done>
        ) : (
          <form onSubmit={(event) => void submit(event)}>
            <TextField
              label="Email"
              name="email"
              type="email"
              autoComplete="email"
              required
              value={email}
              error={fields.email}
              onChange={(event) => setEmail(event.target.value)}
            />
            {error && <ErrorMessage error={error} fields={Object.keys(fields)} />}
            <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
              {busy ? "Please wait…" : "Send the link"}
            </button>
          </form>
        )}
        <p className="muted">
          <Link href="/signin">Back to sign in</Link>
        </p>
      </div>
    </section>
  );
}

/** Sets a new password with the token of a reset link (`/reset-password?token=...`). */
export function ResetPasswordPage() {
  const { api } = useAuth();
  const { search } = useLocation();
  const token = new URLSearchParams(search).get("token") ?? "";
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [differ, setDiffer] = useState(false);
  const [busy, setBusy] = useState(false);
  const fields: Record<string, string> = { ...fieldErrors(error) };
  if (differ) {
    fields.confirm_password = "The two passwords differ.";
  }

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setDiffer(password !== confirm);
    if (password !== confirm) {
      setError(null);
      return;
    }
    setError(null);
    setBusy(true);
    try {
      const answer = await api.post<MessageAnswer>("/api/auth/reset-password", { token, password, confirm_password: confirm });
      setDone(answer.message);
    } catch (caught) {
      setError(toApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="auth-page">
      <title>Choose a new password · ShopMesh</title>
      <div className="panel auth-card">
        <h1>Choose a new password</h1>
        {!token ? (
          <ErrorMessage error="This page needs the link from your password reset email." />
        ) : done ? (
          <Done>{done}</Done>
        ) : (
          <form onSubmit={(event) => void submit(event)}>
            <TextField
              label="New password"
              name="password"
              type="password"
              autoComplete="new-password"
              required
              minLength={8}
              hint="At least 8 characters."
              error={fields.password}
              value={password}
              onChange={(event) => setPassword(event.target.value)}
            />
            <TextField
              label="New password, again"
              name="confirm_password"
              type="password"
              autoComplete="new-password"
              required
              minLength={8}
              error={fields.confirm_password}
              value={confirm}
              onChange={(event) => setConfirm(event.target.value)}
            />
            {error && <ErrorMessage error={error} fields={Object.keys(fields)} />}
            <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
              {busy ? "Please wait…" : "Set the new password"}
            </button>
          </form>
        )}
        <p className="muted">
          <Link href="/signin">{done ? "Sign in" : "Back to sign in"}</Link>
          {" · "}
          <Link href="/forgot-password">Send a new link</Link>
        </p>
      </div>
    </section>
  );
}
