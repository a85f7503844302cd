import { useState, type SubmitEvent } from "react";

import { useAuth } from "../hooks/auth";
import { toApiError } from "../hooks/useResource";
import type { ApiError } from "../lib/api";
import { ErrorMessage } from "./Feedback";
import { TextField } from "./Field";

/**
 * Shown when the server ended the session while the person was on a page: the
 * page stays as it was (what they typed included) and they sign in again here.
 */
export function SessionEnded() {
  const { ended } = useAuth();
  return ended ? <SignInAgain /> : null;
}

function SignInAgain() {
  const { lastUsername, signIn } = useAuth();
  const [username, setUsername] = useState(lastUsername ?? "");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username.trim(), password);
    } catch (caught) {
      setError(toApiError(caught));
      setBusy(false);
    }
  };

  return (
    <section className="panel session-ended" aria-labelledby="session-ended-title" data-testid="session-ended">
      <h2 id="session-ended-title">Your session ended, sign in again</h2>
      <p className="muted">What you typed on this page is kept: sign in, then carry on where you were.</p>
      <form className="session-form" onSubmit={(event) => void submit(event)}>
        <TextField label="Username" name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          // The person came here by acting on the page: the password is what they need next.
          autoFocus
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in again"}
        </button>
      </form>
      {error && <ErrorMessage error={error} />}
    </section>
  );
}
