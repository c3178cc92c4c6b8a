"use client";
import Link from "next/link";
import { Ago } from "~/components/time";

export interface ConfigFallback {
  /** When the next change made it stop validating; null when none did. */
  until: number | null;
  /** "bootstrap": the bootstrap config alone, as no recent revision validates. */
  source: "history" | "bootstrap";
  issues: readonly { path: string; message: string }[] | readonly string[];
}

const issueText = (i: { path: string; message: string } | string) =>
  typeof i === "string" ? i : i.path ? `${i.path}: ${i.message}` : i.message;

/**
 * For read-only views while the stored config does not validate: what is shown is the last
 * valid config, which the gateway keeps serving, and where to fix it.
 */
export function LastValidNotice({ fallback }: { fallback: ConfigFallback }) {
  return (
    <div role="alert" className="alert error">
      <strong>The stored config does not validate</strong> (
      {fallback.issues.map(issueText).join("; ")}). Shown here is{" "}
      {fallback.source === "bootstrap" ? (
        "the bootstrap config alone, as no recent revision validates"
      ) : (
        <>
          the last valid config
          {fallback.until !== null && (
            <>
              , in effect until <Ago at={fallback.until} />
            </>
          )}
        </>
      )}
      , which the gateway keeps serving. <Link href="/controls">Clear the overrides</Link> that no
      longer apply to fix it.
    </div>
  );
}
