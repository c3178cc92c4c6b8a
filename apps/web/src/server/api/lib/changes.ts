/**
 * Operator intents (force a breaker, shift weights, run a runbook step...) as override paths,
 * validated together against the effective config before anything is written, then applied
 * through the store in one transaction, each change with its audit row.
 */
import {
  formatIssues,
  getAtPath,
  setAtPath,
  validateConfig,
  type Config,
  type ConfigIssue,
  type RunbookStep,
} from "@rg/core";
import { effectiveConfig, setMode, setOverride, type Store } from "@rg/db";
import { TRPCError } from "@trpc/server";
import { ConfigIssuesError, refuseIssues } from "../trpc";

export interface PlannedChange {
  path: string;
  value: unknown;
  /** Audit action name. */
  action: string;
}

export interface ChangeMeta {
  actor: string;
  role: string;
  reason: string;
  requestId: string;
  ttlMs?: number;
  /** The revision the operator's form was built from: refused as a conflict when stale. */
  baseRevision?: number;
  now: number;
}

export interface StepPreview {
  path: string;
  before: unknown;
  after: unknown;
}

/**
 * Paths operators may change at run time. Listen addresses, endpoint URLs and runbooks
 * themselves stay as the bootstrap file has them.
 */
const CHANGEABLE = [
  /^gateway\.mode$/,
  /^upstreams\.[^.]+\.(circuitBreaker|bulkhead|retryBudget|outlierDetection|healthCheck)(\.[^.]+)*$/,
  /^upstreams\.[^.]+\.(maxSockets|slowStartMs|weightShiftMs)$/,
  /^upstreams\.[^.]+\.endpoints\.[^.]+\.weight$/,
  /^routes\.[^.]+\.(timeouts|retry|circuitBreaker|rateLimit|cache|fallback|shift|faultInjection|slo)(\.[^.]+)*$/,
  /^routes\.[^.]+\.(mode|criticality|failureStatuses)$/,
];

export function isChangeablePath(path: string): boolean {
  return CHANGEABLE.some((re) => re.test(path));
}

export function currentConfig(store: Store, now: number): { revision: number; config: Config } {
  const eff = effectiveConfig(store, now);
  if ("config" in eff) return { revision: eff.revision, config: eff.config };
  // The gateway keeps serving its last good config; nothing here can act on a broken one.
  throw new TRPCError({
    code: "PRECONDITION_FAILED",
    message: `the stored config does not validate: ${formatIssues(eff.issues).join("; ")}`,
  });
}

/**
 * Apply `changes` in order to `config` (without writing) and validate the result.
 * Returns the per-change before/after and the issues, if any.
 */
export function simulate(
  config: Config,
  changes: readonly PlannedChange[],
): { ok: boolean; issues: ConfigIssue[]; steps: StepPreview[]; config: Config | null } {
  let working: unknown = config;
  const steps: StepPreview[] = [];
  const issues: ConfigIssue[] = [];
  for (const c of changes) {
    if (!isChangeablePath(c.path)) {
      issues.push({ path: c.path, message: "cannot be changed at run time" });
      continue;
    }
    const before = getAtPath(working, c.path);
    try {
      working = setAtPath(working, c.path, c.value);
    } catch (e) {
      issues.push({ path: c.path, message: (e as Error).message });
      continue;
    }
    steps.push({ path: c.path, before, after: c.value });
  }
  if (issues.length > 0) return { ok: false, issues, steps, config: null };
  const v = validateConfig(working);
  if (!v.ok) return { ok: false, issues: v.issues, steps, config: null };
  // Report the value as the validated config has it (defaults filled in).
  for (const s of steps) s.after = getAtPath(v.config, s.path);
  return { ok: true, issues: [], steps, config: v.config };
}

export type ApplyResult =
  | { ok: true; revision: number; applied: number }
  | { ok: false; issues: ConfigIssue[]; conflict?: true };

/**
 * Validate all changes together, then write them in one store transaction, as one revision
 * with an audit row each: the gateway sees all of them or none. Nothing is written when the
 * combination is invalid, now or by the time the store writes it (a concurrent change made it
 * invalid), or when `meta.baseRevision` is given and the paths changed after it.
 */
export function applyChanges(
  store: Store,
  changes: readonly PlannedChange[],
  meta: ChangeMeta,
): ApplyResult {
  if (changes.length === 0) {
    return { ok: false, issues: [{ path: "", message: "nothing to change" }] };
  }
  const { config } = currentConfig(store, meta.now);
  const sim = simulate(config, changes);
  if (!sim.ok) return { ok: false, issues: sim.issues };
  const r = setOverride(store, {
    changes: changes.map((c) => ({ path: c.path, value: c.value, action: c.action })),
    actor: meta.actor,
    role: meta.role,
    reason: meta.reason,
    requestId: meta.requestId,
    now: meta.now,
    ...(meta.ttlMs !== undefined ? { ttlMs: meta.ttlMs } : {}),
    ...(meta.baseRevision !== undefined ? { baseRevision: meta.baseRevision } : {}),
  });
  if (!r.ok) return r;
  return { ok: true, revision: r.revision, applied: r.changes.length };
}

/**
 * Throw a refused change to the client: CONFLICT when the paths changed after the revision
 * the operator's form was built from (reload and redo), BAD_REQUEST with the issues otherwise.
 */
export function refuseChange(r: { issues: ConfigIssue[]; conflict?: true }): never {
  if (!r.conflict) refuseIssues(r.issues);
  const cause = new ConfigIssuesError(r.issues);
  throw new TRPCError({ code: "CONFLICT", message: cause.message, cause });
}

export function modeChange(
  scope: "gateway" | "route",
  target: string | undefined,
  mode: string,
): PlannedChange {
  return {
    path: scope === "gateway" ? "gateway.mode" : `routes.${target ?? ""}.mode`,
    value: mode,
    action: "mode.set",
  };
}

/** The override(s) one runbook step stands for. */
export function changesForStep(step: RunbookStep): PlannedChange[] {
  switch (step.action) {
    case "set_mode":
      return [modeChange(step.scope, step.target, step.mode)];
    case "force_breaker":
      return [
        {
          path: `upstreams.${step.upstream}.circuitBreaker.forcedState`,
          value: step.state,
          action: "breaker.force",
        },
      ];
    case "shift_weight":
      return Object.entries(step.weights).map(([endpoint, weight]) => ({
        path: `upstreams.${step.upstream}.endpoints.${endpoint}.weight`,
        value: weight,
        action: "weights.shift",
      }));
    case "shift_traffic":
      return [
        {
          path: `routes.${step.route}.shift`,
          value: { to: step.to, percent: step.percent, durationMs: step.durationMs },
          action: "traffic.shift",
        },
      ];
    case "set_value":
      return [{ path: step.path, value: step.value, action: "config.set" }];
  }
}

/** Apply a mode change through the store's own mode entry point (same audit action). */
export function applyMode(
  store: Store,
  input: { scope: "gateway" | "route"; target?: string; mode: Config["gateway"]["mode"] },
  meta: ChangeMeta,
): ApplyResult {
  const r = setMode(store, {
    scope: input.scope,
    mode: input.mode,
    actor: meta.actor,
    role: meta.role,
    reason: meta.reason,
    requestId: meta.requestId,
    now: meta.now,
    ...(input.target !== undefined ? { target: input.target } : {}),
    ...(meta.ttlMs !== undefined ? { ttlMs: meta.ttlMs } : {}),
  });
  return r.ok ? { ok: true, revision: r.revision, applied: 1 } : { ok: false, issues: r.issues };
}
