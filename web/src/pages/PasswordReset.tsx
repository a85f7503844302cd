import { useState, type SubmitEvent } from "react";

import { ErrorMessage, Notice } from "../components/Feedback";
import { TextField } from "../components/Field";
import { Link } from "../components/Link";
import { useAuth } from "../hooks/auth";
import { toApiError } from "../hooks/useResource";
import { fieldErrors } from "../lib/types";
import { useLocation } from "../lib/router";
import type { ApiError } from "../lib/api";

interface MessageAnswer {
  message: string;
}

/** Asks for a reset link by email; the answer is the same whether or not the address has an account. */
export function ForgotPasswordPage() {
  const { api } = useAuth();
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

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
          <Notice>{sent} The link in it works once.</Notice>
        ) : (
          <form onSubmit={(event) => void submit(event)}>
            <TextField
              label="Email"
              name="email"
              type="email"
              autoComplete="email"
              required
              value={email}
              error={error ? fieldErrors(error.details).email : undefined}
              onChange={(event) => setEmail(event.target.value)}
            />
            {error && <ErrorMessage error={error} />}
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
  const [error, setError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (password !== confirm) {
      setError("The two passwords differ.");
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
          <Notice>{done}</Notice>
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
              value={confirm}
              onChange={(event) => setConfirm(event.target.value)}
            />
            {error && <ErrorMessage error={error} />}
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
