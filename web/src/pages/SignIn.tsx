import { useState, type SubmitEvent } from "react";

import { ErrorMessage } from "../components/Feedback";
import { TextField } from "../components/Field";
import { Link } from "../components/Link";
import { useAuth } from "../hooks/auth";
import { useToast } from "../hooks/toast";
import { useCountdown } from "../hooks/useCountdown";
import { toApiError } from "../hooks/useResource";
import type { ApiError } from "../lib/api";
import { fieldErrors } from "../lib/messages";
import { navigate, useLocation } from "../lib/router";

type Mode = "signin" | "register";

/** Only paths inside the app, so `?next=` cannot send anyone elsewhere. */
export function safeNext(next: string | null): string {
  return next?.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function SignInPage() {
  const { search } = useLocation();
  const params = new URLSearchParams(search);
  const [mode, setMode] = useState<Mode>(params.get("mode") === "register" ? "register" : "signin");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const { signIn, register } = useAuth();
  const notify = useToast();
  const registering = mode === "register";
  const fields = fieldErrors(error);
  // After too many attempts the gateway says how long to wait: the button waits as long.
  const wait = useCountdown(error?.retryAfter, error);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const session = registering ? await register(username.trim(), password) : await signIn(username.trim(), password);
      notify(registering ? `Welcome to ShopMesh, ${session.username}!` : `Welcome back, ${session.username}.`);
      navigate(safeNext(params.get("next")), { replace: true });
    } catch (caught) {
      setError(toApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  const switchTo = (next: Mode) => {
    setMode(next);
    setError(null);
  };

  return (
    <section className="auth-page">
      <title>{registering ? "Create an account · ShopMesh" : "Sign in · ShopMesh"}</title>
      <div className="panel auth-card">
        <div
          className="tabs"
          role="tablist"
          aria-label="Account"
          onKeyDown={(event) => {
            // Arrow keys move between the two tabs, as in any tab list.
            if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
              event.preventDefault();
              const next = registering ? "signin" : "register";
              switchTo(next);
              document.getElementById(`tab-${next}`)?.focus();
            }
          }}
        >
          <button
            id="tab-signin"
            type="button"
            role="tab"
            aria-selected={!registering}
            aria-controls="account-panel"
            tabIndex={registering ? -1 : 0}
            className="tab"
            onClick={() => switchTo("signin")}
          >
            Sign in
          </button>
          <button
            id="tab-register"
            type="button"
            role="tab"
            aria-selected={registering}
            aria-controls="account-panel"
            tabIndex={registering ? 0 : -1}
            className="tab"
            onClick={() => switchTo("register")}
          >
            Create account
          </button>
        </div>
        <div id="account-panel" role="tabpanel" aria-labelledby={registering ? "tab-register" : "tab-signin"}>
          <h1>{registering ? "Create your account" : "Sign in to ShopMesh"}</h1>
          <p className="muted">{registering ? "Shop, track your orders live and manage payments." : "Good to see you again."}</p>
          <form onSubmit={(event) => void submit(event)}>
            <TextField
              label="Username"
              name="username"
              autoComplete="username"
              required
              minLength={3}
              maxLength={50}
              pattern="[A-Za-z0-9_.\-]+"
              hint={registering ? "3–50 letters, digits, '_', '.' or '-'." : undefined}
              error={fields.username}
              value={username}
              onChange={(event) => setUsername(event.target.value)}
            />
            <TextField
              label="Password"
              name="password"
              type="password"
              autoComplete={registering ? "new-password" : "current-password"}
              required
              minLength={8}
              hint={registering ? "At least 8 characters." : undefined}
              error={fields.password}
              value={password}
              onChange={(event) => setPassword(event.target.value)}
            />
            {error && <ErrorMessage error={error} fields={Object.keys(fields)} />}
            <button type="submit" className="btn btn-primary btn-block" disabled={busy || wait > 0}>
              {busy ? "Please wait…" : registering ? "Create account" : "Sign in"}
            </button>
          </form>
          {!registering && (
            <p className="muted">
              <Link href="/forgot-password">Forgot your password?</Link>
            </p>
          )}
        </div>
      </div>
    </section>
  );
}
