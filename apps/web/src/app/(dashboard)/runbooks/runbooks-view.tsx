"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { AppliedStatus } from "~/components/applied-status";
import { Badge } from "~/components/badges";
import { Dialog } from "~/components/dialog";
import { DiffTable } from "~/components/diff-table";
import { errorText, QueryError } from "~/components/errors";
import { ReasonForm } from "~/components/reason-form";
import { useCan } from "~/components/session";
import { Ago } from "~/components/time";
import type { StateMeta } from "~/lib/breaker";
import { formatDuration } from "~/lib/format";
import { useTRPC, type RouterOutputs } from "~/trpc/react";
import { LastValidNotice } from "../controls/last-valid-notice";

type Runbook = RouterOutputs["runbooks"]["list"]["runbooks"][number];
type RunResult = RouterOutputs["runbooks"]["run"];

const STEP: Record<string, StateMeta> = {
  pending: { label: "Pending", icon: "○", tone: "muted" },
  running: { label: "Running", icon: "▶", tone: "info" },
  done: { label: "Done", icon: "✓", tone: "ok" },
  failed: { label: "Failed", icon: "✕", tone: "bad" },
  skipped: { label: "Not run", icon: "–", tone: "muted" },
};

export function stepMeta(status: string): StateMeta {
  return STEP[status] ?? { label: status, icon: "•", tone: "muted" };
}

export function RunbooksView() {
  const trpc = useTRPC();
  const list = useQuery(trpc.runbooks.list.queryOptions());
  const runs = useQuery({ ...trpc.runbooks.runs.queryOptions(), refetchInterval: 2000 });
  const canRun = useCan("operator");
  const [open, setOpen] = useState<Runbook | null>(null);
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Runbooks</h1>
          <p>Prepared responses from the config. Each run shows what will change before it runs.</p>
        </div>
      </div>
      {list.error && <QueryError error={list.error} />}
      {list.data?.fallback && <LastValidNotice fallback={list.data.fallback} />}
      {list.data?.runbooks.length === 0 && (
        <p className="empty panel">No runbooks in the config.</p>
      )}
      <div
        className="grid-cards"
        style={{ gridTemplateColumns: "repeat(auto-fill, minmax(380px, 1fr))" }}
      >
        {list.data?.runbooks.map((rb) => (
          <article key={rb.id} className="panel card" aria-labelledby={`rb-${rb.id}`}>
            <div className="card-head">
              <h2 id={`rb-${rb.id}`}>{rb.title}</h2>
              <button
                type="button"
                className="primary"
                disabled={!canRun}
                aria-label={`Run ${rb.title}`}
                onClick={() => setOpen(rb)}
              >
                ▶ Run
              </button>
            </div>
            {rb.description && (
              <p className="muted" style={{ margin: 0 }}>
                {rb.description}
              </p>
            )}
            <ol style={{ margin: 0, paddingLeft: 20 }}>
              {rb.steps.map((s) => (
                <li key={s.step}>{s.description}</li>
              ))}
            </ol>
            <span className="muted small mono">{rb.id}</span>
          </article>
        ))}
      </div>
      {!canRun && <p className="muted small">Only operators and admins can run runbooks.</p>}
      <section className="panel" aria-labelledby="runs-h">
        <h2 id="runs-h">Recent runs</h2>
        {runs.data && runs.data.length === 0 ? (
          <p className="empty">No runbook has been run yet.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Runbook</th>
                  <th scope="col">Status</th>
                  <th scope="col">Steps</th>
                  <th scope="col">By</th>
                  <th scope="col">Why</th>
                  <th scope="col">Started</th>
                  <th scope="col">Took</th>
                </tr>
              </thead>
              <tbody>
                {runs.data?.map((r) => (
                  <tr key={r.id}>
                    <td>
                      <strong>{r.runbook}</strong> <span className="muted small">#{r.id}</span>
                    </td>
                    <td>
                      <Badge meta={stepMeta(r.status)} />
                    </td>
                    <td>
                      <span className="row" style={{ gap: 4 }}>
                        {r.steps.map((s) => (
                          <span key={s.step} title={s.detail ?? undefined}>
                            <Badge meta={{ ...stepMeta(s.status), label: `${s.step + 1}` }} />
                          </span>
                        ))}
                      </span>
                    </td>
                    <td>{r.actor}</td>
                    <td className="small">{r.reason}</td>
                    <td className="small">
                      <Ago at={r.startedAt} />
                    </td>
                    <td className="small">
                      {r.finishedAt ? formatDuration(r.finishedAt - r.startedAt) : "running"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <Dialog
        open={open !== null}
        title={open ? `Run “${open.title}”?` : ""}
        onClose={() => setOpen(null)}
      >
        {open && <RunDialogBody rb={open} onClose={() => setOpen(null)} />}
      </Dialog>
    </>
  );
}

function RunDialogBody({ rb, onClose }: { rb: Runbook; onClose: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const live = useQuery(trpc.runbooks.preview.queryOptions({ id: rb.id }));
  // What the run was confirmed against: kept after the run, when a fresh preview would show
  // "no change".
  const [confirmed, setConfirmed] = useState<typeof live.data>(undefined);
  const preview = { ...live, data: confirmed ?? live.data };
  const [result, setResult] = useState<RunResult | null>(null);
  const run = useMutation(
    trpc.runbooks.run.mutationOptions({
      onSuccess: async (r) => {
        setResult(r);
        await qc.invalidateQueries();
      },
    }),
  );
  const statusOf = (step: number): string => {
    if (result) return result.steps.find((s) => s.step === step)?.status ?? "skipped";
    if (run.isPending) return "running";
    return "pending";
  };
  return (
    <>
      {preview.error && <QueryError error={preview.error} />}
      <ol className="stack" style={{ margin: 0, paddingLeft: 20 }} aria-label="Steps">
        {(preview.data?.steps ?? rb.steps.map((s) => ({ ...s, changes: [], issues: [] }))).map(
          (s) => (
            <li key={s.step}>
              <div className="row" style={{ justifyContent: "space-between" }}>
                <strong>{s.description}</strong>
                <Badge meta={stepMeta(statusOf(s.step))} />
              </div>
              {s.changes.map((c) => (
                <DiffTable key={c.path} before={c.before} after={c.after} basePath={c.path} />
              ))}
              {s.issues.length > 0 && (
                <div className="alert error small">{s.issues.join("; ")}</div>
              )}
              {result?.steps.find((x) => x.step === s.step)?.detail && (
                <div className="muted small">
                  {result.steps.find((x) => x.step === s.step)?.detail}
                </div>
              )}
            </li>
          ),
        )}
      </ol>
      {result ? (
        <>
          <p role="status" className={`alert ${result.status === "done" ? "ok" : "error"}`}>
            Run #{result.runId}{" "}
            {result.status === "done" ? "finished: every step done" : "stopped at a failed step"}.
          </p>
          {result.revision !== null && <AppliedStatus revision={result.revision} />}
          <div className="actions">
            <button type="button" onClick={onClose}>
              Close
            </button>
          </div>
        </>
      ) : (
        <ReasonForm
          confirmLabel="Run runbook"
          danger
          withExpiry={false}
          pending={run.isPending}
          disabled={!preview.data || !preview.data.ok}
          error={
            run.error
              ? errorText(run.error)
              : preview.data && !preview.data.ok
                ? "This runbook cannot run against the current config (see the steps above)."
                : null
          }
          onCancel={onClose}
          onConfirm={({ reason }) => {
            setConfirmed(live.data);
            run.mutate({ id: rb.id, reason });
          }}
        />
      )}
    </>
  );
}
