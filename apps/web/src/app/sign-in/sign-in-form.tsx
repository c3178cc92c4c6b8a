"use client";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { signIn } from "~/lib/auth-client";

/** The message for a failed sign-in: throttling says how long to wait, the rest stay vague. */
export function signInError(status: number | undefined, retryAfterS?: number | null): string {
  if (status === 429) {
    const wait =
      retryAfterS && retryAfterS > 0 ? ` Try again in ${retryAfterS} s.` : " Try again shortly.";
    return `Too many sign-in attempts.${wait}`;
  }
  if (status === 401 || status === 400 || status === 403) return "Email or password is incorrect.";
  return "Sign-in failed. Check that the dashboard server is running and try again.";
}

export function SignInForm() {
  const router = useRouter();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        setPending(true);
        setError(null);
        let retryAfter: number | null = null;
        const res = await signIn.email(
          { email, password },
          {
            onError: (ctx) => {
              const h =
                ctx.response?.headers.get("x-retry-after") ??
                ctx.response?.headers.get("retry-after");
              retryAfter = h ? Number(h) : null;
            },
          },
        );
        if (res.error) {
          setError(signInError(res.error.status, retryAfter));
          setPending(false);
          return;
        }
        router.replace("/");
        router.refresh();
      }}
    >
      <div className="field">
        <label htmlFor="email">Email</label>
        <input
          id="email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor="password">Password</label>
        <input
          id="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </div>
      {error && (
        <div role="alert" className="alert error">
          {error}
        </div>
      )}
      <button type="submit" className="primary" disabled={pending}>
        {pending ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
