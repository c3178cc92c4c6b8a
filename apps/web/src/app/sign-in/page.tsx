import type { Metadata } from "next";
import { SignInForm } from "./sign-in-form";

export const metadata: Metadata = { title: "Sign in" };

export default function SignInPage() {
  return (
    <div className="signin">
      <div className="panel">
        <h1 style={{ marginBottom: 4 }}>Resilience Gateway</h1>
        <p className="muted" style={{ marginTop: 0, marginBottom: 20 }}>
          Sign in to the operator dashboard.
        </p>
        <SignInForm />
      </div>
    </div>
  );
}
