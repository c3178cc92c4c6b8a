"use client";
import { useId, useState, type ReactNode } from "react";

export const EXPIRY_CHOICES: readonly { label: string; ms: number | undefined }[] = [
  { label: "No expiry", ms: undefined },
  { label: "15 minutes", ms: 15 * 60_000 },
  { label: "1 hour", ms: 3_600_000 },
  { label: "4 hours", ms: 4 * 3_600_000 },
  { label: "24 hours", ms: 24 * 3_600_000 },
];

export interface ReasonResult {
  reason: string;
  ttlMs?: number;
}

/**
 * The confirmation every operator action goes through: what will change, a required reason,
 * an optional expiry. The confirm button stays disabled until a reason is typed.
 */
export function ReasonForm({
  summary,
  confirmLabel,
  danger,
  withExpiry = true,
  defaultReason = "",
  pending,
  disabled,
  error,
  onConfirm,
  onCancel,
}: {
  summary?: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  withExpiry?: boolean;
  defaultReason?: string;
  pending?: boolean;
  /** Confirm stays disabled (e.g. while the change itself is invalid). */
  disabled?: boolean;
  error?: string | null;
  onConfirm: (r: ReasonResult) => void;
  onCancel?: () => void;
}) {
  const [reason, setReason] = useState(defaultReason);
  const [expiry, setExpiry] = useState(0);
  const reasonId = useId();
  const expiryId = useId();
  const trimmed = reason.trim();
  return (
    <form
      className="stack"
      onSubmit={(e) => {
        e.preventDefault();
        if (!trimmed) return;
        const ms = EXPIRY_CHOICES[expiry]?.ms;
        onConfirm(ms === undefined ? { reason: trimmed } : { reason: trimmed, ttlMs: ms });
      }}
    >
      {summary}
      <div className="field">
        <label htmlFor={reasonId}>Reason</label>
        <textarea
          id={reasonId}
          value={reason}
          required
          maxLength={500}
          placeholder="Why? e.g. payments provider outage, INC-123"
          onChange={(e) => setReason(e.target.value)}
        />
      </div>
      {withExpiry && (
        <div className="field">
          <label htmlFor={expiryId}>Expires after</label>
          <select id={expiryId} value={expiry} onChange={(e) => setExpiry(Number(e.target.value))}>
            {EXPIRY_CHOICES.map((c, i) => (
              <option key={c.label} value={i}>
                {c.label}
              </option>
            ))}
          </select>
          <span className="hint">After expiry the change is undone automatically.</span>
        </div>
      )}
      {error && (
        <div role="alert" className="alert error">
          {error}
        </div>
      )}
      <div className="actions">
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
        <button
          type="submit"
          className={danger ? "danger" : "primary"}
          disabled={!trimmed || pending || disabled}
        >
          {pending ? "Applying…" : confirmLabel}
        </button>
      </div>
    </form>
  );
}
