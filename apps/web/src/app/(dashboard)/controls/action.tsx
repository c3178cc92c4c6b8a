"use client";
import { useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { AppliedStatus } from "~/components/applied-status";
import { errorText } from "~/components/errors";
import { ReasonForm, type ReasonResult } from "~/components/reason-form";

/**
 * One operator action: its fields (children), the required reason and optional expiry, the
 * server's answer, and then whether the gateway serves the new revision.
 */
export function ActionSection({
  title,
  description,
  children,
  confirmLabel,
  danger,
  withExpiry = true,
  canSubmit = true,
  run,
}: {
  title: string;
  description?: ReactNode;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  withExpiry?: boolean;
  canSubmit?: boolean;
  run: (r: ReasonResult) => Promise<{ revision: number }>;
}) {
  const qc = useQueryClient();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [revision, setRevision] = useState<number | null>(null);
  const [formKey, setFormKey] = useState(0);
  const headingId = `h-${title.replace(/\W+/g, "-").toLowerCase()}`;
  return (
    <section className="panel stack" aria-labelledby={headingId}>
      <div>
        <h2 id={headingId}>{title}</h2>
        {description && (
          <p className="muted small" style={{ margin: "4px 0 0" }}>
            {description}
          </p>
        )}
      </div>
      {children}
      <ReasonForm
        key={formKey}
        confirmLabel={confirmLabel}
        danger={danger}
        withExpiry={withExpiry}
        pending={pending}
        disabled={!canSubmit}
        error={error}
        onConfirm={async (r) => {
          setPending(true);
          setError(null);
          try {
            const res = await run(r);
            setRevision(res.revision);
            setFormKey((k) => k + 1);
            await qc.invalidateQueries();
          } catch (e) {
            setError(errorText(e));
          } finally {
            setPending(false);
          }
        }}
      />
      {revision !== null && <AppliedStatus key={revision} revision={revision} />}
    </section>
  );
}
