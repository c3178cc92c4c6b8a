/**
 * Runbooks from the config: preview (what each step would change, before → after) and run
 * (steps in order through the store, each step's status recorded in the runs table and as a
 * `runbook.step` event so it shows on incident timelines). A failed step stops the run.
 */
import { formatIssues, ownEntry, type Config, type RunbookConfig } from "@rg/core";
import {
  appendEvents,
  finishRunbookRun,
  startRunbookRun,
  updateRunbookStep,
  type Store,
} from "@rg/db";
import {
  applyChanges,
  changesForStep,
  readConfigState,
  simulate,
  simulateOn,
  viewConfig,
  type ChangeMeta,
  type StepPreview,
} from "./changes";

/** Instance name of events the dashboard itself writes. */
export const DASHBOARD_INSTANCE = "dashboard";

export interface RunbookStepPreview {
  step: number;
  action: RunbookConfig["steps"][number]["action"];
  description: string;
  changes: StepPreview[];
  issues: string[];
}

export function describeStep(step: RunbookConfig["steps"][number]): string {
  switch (step.action) {
    case "set_mode":
      return step.scope === "gateway"
        ? `Set the gateway to ${step.mode}`
        : `Set route ${step.target ?? "?"} to ${step.mode}`;
    case "force_breaker":
      return step.state === "none"
        ? `Release the breaker of ${step.upstream}`
        : `Set the breaker of ${step.upstream} to ${step.state}`;
    case "shift_weight":
      return `Shift weights of ${step.upstream}: ${Object.entries(step.weights)
        .map(([e, w]) => `${e}=${w}`)
        .join(", ")}`;
    case "shift_traffic":
      return `Send ${step.percent}% of route ${step.route} to ${step.to}`;
    case "set_value":
      return `Set ${step.path}`;
  }
}

/** A runbook of the config (the last valid one while the stored config does not validate). */
export function findRunbook(store: Store, id: string, now: number) {
  const { config } = viewConfig(store, now);
  return ownEntry(config.runbooks, id);
}

/**
 * Each step's changes against the config as the previous steps leave it. While the stored
 * config does not validate, a step is refused (naming the overrides to clear) unless it makes
 * the config validate again.
 */
export function previewRunbook(
  store: Store,
  runbook: RunbookConfig,
  now: number,
): RunbookStepPreview[] {
  const state = readConfigState(store, now);
  let config: Config | undefined = state.ok ? state.config : undefined;
  return runbook.steps.map((step, i) => {
    const changes = changesForStep(step);
    const sim = config ? simulate(config, changes) : simulateOn(state, changes);
    if (sim.config) config = sim.config;
    return {
      step: i,
      action: step.action,
      description: describeStep(step),
      changes: sim.steps,
      issues: formatIssues(sim.issues),
    };
  });
}

export interface RunResult {
  runId: number;
  status: "done" | "failed";
  revision: number | null;
  steps: { step: number; status: "done" | "failed"; detail?: string }[];
}

export function runRunbook(
  store: Store,
  id: string,
  runbook: RunbookConfig,
  meta: Omit<ChangeMeta, "now">,
  /** Read for every record, so step times on timelines are when each step ran. */
  clock: () => number,
): RunResult {
  const runId = startRunbookRun(store, {
    runbook: id,
    actor: meta.actor,
    role: meta.role,
    reason: meta.reason,
    now: clock(),
  });
  const steps: RunResult["steps"] = [];
  let revision: number | null = null;
  let status: "done" | "failed" = "done";
  const report = (step: number, s: "running" | "done" | "failed", detail?: string) => {
    const now = clock();
    updateRunbookStep(store, {
      runId,
      step,
      status: s,
      now,
      ...(detail ? { detail } : {}),
    });
    appendEvents(store, DASHBOARD_INSTANCE, [
      {
        type: "runbook.step",
        at: now,
        runbook: id,
        runId,
        step,
        status: s,
        ...(detail ? { detail } : {}),
      },
    ]);
  };
  // The run is recorded as running from here on: whatever throws, it is closed as failed, so
  // no run stays "running" for ever.
  try {
    for (const [i, step] of runbook.steps.entries()) {
      report(i, "running");
      let detail: string;
      let ok: boolean;
      try {
        const ttl = step.action === "set_mode" ? step.ttlMs : undefined;
        const r = applyChanges(store, changesForStep(step), {
          ...meta,
          now: clock(),
          reason: `runbook ${id} (run ${runId}): ${meta.reason}`,
          ...(ttl !== undefined ? { ttlMs: ttl } : {}),
        });
        ok = r.ok;
        if (r.ok) {
          revision = r.revision;
          detail = `${describeStep(step)} (revision ${r.revision})`;
        } else {
          detail = formatIssues(r.issues).join("; ");
        }
      } catch (e) {
        ok = false;
        detail = (e as Error).message;
      }
      report(i, ok ? "done" : "failed", detail);
      steps.push({ step: i, status: ok ? "done" : "failed", detail });
      if (!ok) {
        status = "failed";
        break;
      }
    }
  } catch (e) {
    finishRunbookRun(store, {
      runId,
      status: "failed",
      actor: meta.actor,
      role: meta.role,
      now: clock(),
      detail: (e as Error).message,
    });
    throw e;
  }
  finishRunbookRun(store, {
    runId,
    status,
    actor: meta.actor,
    role: meta.role,
    now: clock(),
    ...(status === "failed" ? { detail: steps[steps.length - 1]?.detail ?? "failed" } : {}),
  });
  return { runId, status, revision, steps };
}
