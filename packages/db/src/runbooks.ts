import { and, asc, desc, eq, inArray } from "drizzle-orm";
import { appendAudit } from "./audit";
import { runbookRuns, runbookSteps } from "./schema";
import { writeTx, type Store } from "./store";

export type RunbookStatus = "running" | "done" | "failed";
export type RunbookRun = typeof runbookRuns.$inferSelect;
export type RunbookStepRow = typeof runbookSteps.$inferSelect;

/** Record the start of a runbook run (audited) and return its id. */
export function startRunbookRun(
  store: Store,
  input: { runbook: string; actor: string; role: string; reason: string; now?: number },
): number {
  const now = input.now ?? Date.now();
  if (input.reason.trim() === "") throw new Error("a reason is required");
  return writeTx(store, () => {
    const run = store.db
      .insert(runbookRuns)
      .values({
        runbook: input.runbook,
        actor: input.actor,
        role: input.role,
        reason: input.reason,
        status: "running",
        startedAt: now,
      })
      .returning({ id: runbookRuns.id })
      .get();
    appendAudit(store, {
      actor: input.actor,
      role: input.role,
      action: "runbook.start",
      target: `runbook:${input.runbook}`,
      after: { runId: run.id },
      reason: input.reason,
      at: now,
    });
    return run.id;
  });
}

/** Set a step's status (inserted on first report). */
export function updateRunbookStep(
  store: Store,
  input: { runId: number; step: number; status: RunbookStatus; detail?: string; now?: number },
): void {
  const now = input.now ?? Date.now();
  store.db
    .insert(runbookSteps)
    .values({
      runId: input.runId,
      step: input.step,
      status: input.status,
      detail: input.detail ?? null,
      at: now,
    })
    .onConflictDoUpdate({
      target: [runbookSteps.runId, runbookSteps.step],
      set: { status: input.status, detail: input.detail ?? null, at: now },
    })
    .run();
}

/** Close a run as done or failed (audited). */
export function finishRunbookRun(
  store: Store,
  input: {
    runId: number;
    status: "done" | "failed";
    actor?: string;
    role?: string;
    detail?: string;
    now?: number;
  },
): void {
  const now = input.now ?? Date.now();
  writeTx(store, () => {
    const run = store.db
      .update(runbookRuns)
      .set({ status: input.status, finishedAt: now })
      .where(and(eq(runbookRuns.id, input.runId), eq(runbookRuns.status, "running")))
      .returning()
      .get();
    if (!run) return;
    appendAudit(store, {
      actor: input.actor ?? run.actor,
      role: input.role ?? run.role,
      action: "runbook.finish",
      target: `runbook:${run.runbook}`,
      after: {
        runId: run.id,
        status: input.status,
        ...(input.detail ? { detail: input.detail } : {}),
      },
      reason: run.reason,
      at: now,
    });
  });
}

/** Runs newest first, each with its steps in order. */
export function listRunbookRuns(
  store: Store,
  opts: { runbook?: string; limit?: number } = {},
): (RunbookRun & { steps: RunbookStepRow[] })[] {
  const runs = store.db
    .select()
    .from(runbookRuns)
    .where(opts.runbook !== undefined ? eq(runbookRuns.runbook, opts.runbook) : undefined)
    .orderBy(desc(runbookRuns.startedAt), desc(runbookRuns.id))
    .limit(Math.min(Math.max(opts.limit ?? 50, 1), 1000))
    .all();
  if (runs.length === 0) return [];
  const steps = store.db
    .select()
    .from(runbookSteps)
    .where(
      inArray(
        runbookSteps.runId,
        runs.map((r) => r.id),
      ),
    )
    .orderBy(asc(runbookSteps.runId), asc(runbookSteps.step))
    .all();
  return runs.map((r) => ({ ...r, steps: steps.filter((s) => s.runId === r.id) }));
}
