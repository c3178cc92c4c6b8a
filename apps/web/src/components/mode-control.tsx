"use client";
import type { ModeName } from "@rg/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { MODES, modeMeta } from "~/lib/breaker";
import { useTRPC } from "~/trpc/react";
import { AppliedStatus } from "./applied-status";
import { Dialog } from "./dialog";
import { errorText } from "./errors";
import { ReasonForm } from "./reason-form";

/**
 * Buttons to switch the gateway's or a route's mode. One click opens a confirmation that
 * asks for the required reason and an optional expiry; a second click applies it.
 */
export function ModeControl({
  scope,
  target,
  current,
  disabled,
}: {
  scope: "gateway" | "route";
  target?: string;
  current: ModeName;
  disabled?: boolean;
}) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [pick, setPick] = useState<ModeName | null>(null);
  const [revision, setRevision] = useState<number | null>(null);
  const m = useMutation(
    trpc.controls.setMode.mutationOptions({
      onSuccess: async (r) => {
        setRevision(r.revision);
        setPick(null);
        await qc.invalidateQueries();
      },
    }),
  );
  const what = scope === "gateway" ? "the whole gateway" : `route ${target}`;
  return (
    <div className="stack" style={{ gap: 6 }}>
      <div className="row" role="group" aria-label={`Mode of ${what}`}>
        {MODES.map((mode) => {
          const meta = modeMeta(mode);
          return (
            <button
              key={mode}
              type="button"
              aria-pressed={mode === current}
              disabled={disabled || mode === current}
              className={mode === "read_only" && mode !== current ? "danger" : undefined}
              onClick={() => {
                m.reset();
                setPick(mode);
              }}
            >
              <span aria-hidden="true">{meta.icon}</span>
              {meta.label}
            </button>
          );
        })}
      </div>
      {revision !== null && <AppliedStatus revision={revision} />}
      <Dialog
        open={pick !== null}
        title={pick ? `Switch ${what} to ${modeMeta(pick).label}?` : ""}
        onClose={() => setPick(null)}
      >
        {pick && (
          <ReasonForm
            summary={<ModeEffect mode={pick} scope={scope} target={target} />}
            confirmLabel={`Switch to ${modeMeta(pick).label.toLowerCase()}`}
            danger={pick === "read_only"}
            pending={m.isPending}
            error={m.error ? errorText(m.error) : null}
            onCancel={() => setPick(null)}
            onConfirm={({ reason, ttlMs }) =>
              m.mutate({
                scope,
                target: scope === "route" ? target : undefined,
                mode: pick,
                reason,
                ttlMs,
              })
            }
          />
        )}
      </Dialog>
    </div>
  );
}

function ModeEffect({
  mode,
  scope,
  target,
}: {
  mode: ModeName;
  scope: "gateway" | "route";
  target?: string;
}) {
  const on = scope === "gateway" ? "every route" : `route ${target}`;
  const text =
    mode === "read_only"
      ? `POST, PUT, PATCH and DELETE on ${on} will be answered 503 with Retry-After; GET and HEAD keep working.`
      : mode === "degraded"
        ? `Non-critical traffic on ${on} will be served from cache and fallbacks without calling the upstream.`
        : `${on[0]!.toUpperCase()}${on.slice(1)} will serve traffic normally.`;
  return <p className="alert info">{text}</p>;
}
