/**
 * Operator intents (force a breaker, shift weights, run a runbook step...) as override paths,
 * validated together against the effective config before anything is written, then applied
 * through the store in one transaction, each change with its audit row.
 */
import {
  applyOverrides,
  formatIssues,
  getAtPath,
  setAtPath,
  validateConfig,
  type Config,
  type ConfigIssue,
  type RunbookStep,
} from "@rg/core";
import {
  configSources,
  effectiveConfig,
  lastValidConfig,
  setMode,
  setOverride,
  type LastValidConfig,
  type OverrideRow,
  type Store,
} from "@rg/db";
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

/** A live override the config stops validating with, and the issues it brings. */
export interface InvalidOverride {
  override: OverrideRow;
  issues: ConfigIssue[];
}

export type ConfigState =
  | { ok: true; revision: number; config: Config; overrides: OverrideRow[] }
  | {
      ok: false;
      revision: number;
      issues: ConfigIssue[];
      /** Bootstrap ⊕ live overrides, unvalidated; undefined without a bootstrap config. */
      input: unknown;
      overrides: OverrideRow[];
      /** The overrides to clear for it to validate again. */
      invalid: InvalidOverride[];
    };

/**
 * The live overrides that make the config stop validating: applied one by one in revision
 * order over the bootstrap, each one after which it no longer validates is left out.
 * Clearing them all leaves a config that validates.
 */
export function invalidOverrides(
  bootstrap: unknown,
  live: readonly OverrideRow[],
): InvalidOverride[] {
  if (!validateConfig(bootstrap).ok) return [];
  const kept: { path: string; value: unknown }[] = [];
  const out: InvalidOverride[] = [];
  for (const o of live) {
    const next = [...kept, { path: o.path, value: o.value }];
    const r = applyOverrides(bootstrap, next);
    if (r.ok) kept.push({ path: o.path, value: o.value });
    else out.push({ override: o, issues: r.issues });
  }
  return out;
}

/** The effective config; when it does not validate, what it is made of and what to clear. */
export function readConfigState(store: Store, now: number): ConfigState {
  const eff = effectiveConfig(store, now);
  if ("config" in eff)
    return { ok: true, revision: eff.revision, config: eff.config, overrides: eff.overrides };
  const src = configSources(store, now);
  let input: unknown = src.bootstrap;
  if (input !== undefined) {
    for (const o of src.overrides) {
      try {
        input = setAtPath(input, o.path, o.value);
      } catch {
        // Reported in the issues; the rest still applies for the preview.
      }
    }
  }
  return {
    ok: false,
    revision: eff.revision,
    issues: eff.issues,
    input,
    overrides: src.overrides,
    invalid: src.bootstrap === undefined ? [] : invalidOverrides(src.bootstrap, src.overrides),
  };
}

const sameIssue = (a: ConfigIssue, b: ConfigIssue) => a.path === b.path && a.message === b.message;

/**
 * Why a change is refused while the stored config does not validate: first each override to
 * clear, by path, with the issues it brings, then the change's own issues, if any.
 */
export function invalidConfigIssues(
  state: Extract<ConfigState, { ok: false }>,
  issues: readonly ConfigIssue[] = [],
): ConfigIssue[] {
  const own = issues.filter((i) => !state.issues.some((s) => sameIssue(s, i)));
  const cause: ConfigIssue[] =
    state.invalid.length > 0
      ? state.invalid.map((o) => ({
          path: o.override.path,
          message: `this live override no longer validates (${formatIssues(o.issues).join("; ")}): clear it on the Controls page before other changes`,
        }))
      : [
          {
            path: "",
            message: `the stored config does not validate (${formatIssues(state.issues).join("; ")}): nothing can change until it does`,
          },
        ];
  return [...cause, ...own];
}

/** Throw when no config can be read at all (no bootstrap config stored). */
function refuseNoConfig(issues: readonly ConfigIssue[]): never {
  throw new TRPCError({
    code: "PRECONDITION_FAILED",
    message: `the stored config does not validate: ${formatIssues(issues).join("; ")}`,
  });
}

/**
 * The effective config, for changes. When it does not validate, refused with the overrides
 * to clear first (PRECONDITION_FAILED, with the issues as `path: reason`).
 */
export function currentConfig(store: Store, now: number): { revision: number; config: Config } {
  const state = readConfigState(store, now);
  if (state.ok) return { revision: state.revision, config: state.config };
  if (state.input === undefined) refuseNoConfig(state.issues);
  const cause = new ConfigIssuesError(invalidConfigIssues(state));
  throw new TRPCError({ code: "PRECONDITION_FAILED", message: cause.message, cause });
}

export interface ViewConfig {
  revision: number;
  config: Config;
  /**
   * Set when the stored config does not validate: `config` is then the last one that did,
   * which the gateway keeps serving.
   */
  fallback: (Omit<LastValidConfig, "config"> & { issues: ConfigIssue[] }) | null;
}

/**
 * The config for read-only views: the effective one, or the last valid one when it does not
 * validate. Refused (PRECONDITION_FAILED) only when no config ever validated.
 */
export function viewConfig(store: Store, now: number): ViewConfig {
  const eff = effectiveConfig(store, now);
  if ("config" in eff) return { revision: eff.revision, config: eff.config, fallback: null };
  const last = lastValidConfig(store, now);
  if (!last) refuseNoConfig(eff.issues);
  const { config, ...when } = last;
  return { revision: eff.revision, config, fallback: { ...when, issues: eff.issues } };
}

/**
 * Apply `changes` in order to `config` (without writing) and validate the result.
 * Returns the per-change before/after and the issues, if any. `config` may be a config that
 * does not validate (see {@link simulateOn}).
 */
export function simulate(
  config: unknown,
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
  const state = readConfigState(store, meta.now);
  const sim = simulateOn(state, changes);
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
  if (!r.ok) return explainRefusal(store, meta.now, r);
  return { ok: true, revision: r.revision, applied: r.changes.length };
}

/**
 * {@link simulate} against the stored config. While it does not validate, a change is
 * simulated on bootstrap ⊕ live overrides as they are: one that makes it validate again
 * passes; otherwise the issues name the overrides to clear first.
 */
export function simulateOn(
  state: ConfigState,
  changes: readonly PlannedChange[],
): ReturnType<typeof simulate> {
  if (state.ok) return simulate(state.config, changes);
  if (state.input === undefined) refuseNoConfig(state.issues);
  const sim = simulate(state.input, changes);
  return sim.ok ? sim : { ...sim, issues: invalidConfigIssues(state, sim.issues) };
}

/**
 * A change the store refused: while the stored config does not validate (another change may
 * have made it so since), with the overrides to clear first.
 */
export function explainRefusal<R extends { issues: ConfigIssue[]; conflict?: true }>(
  store: Store,
  now: number,
  r: R,
): R {
  if (r.conflict) return r;
  const state = readConfigState(store, now);
  if (state.ok || state.input === undefined) return r;
  return { ...r, issues: invalidConfigIssues(state, r.issues) };
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
  const state = readConfigState(store, meta.now);
  if (!state.ok) {
    const sim = simulateOn(state, [modeChange(input.scope, input.target, input.mode)]);
    if (!sim.ok) return { ok: false, issues: sim.issues };
  }
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
  if (!r.ok) return explainRefusal(store, meta.now, { ok: false as const, issues: r.issues });
  return { ok: true, revision: r.revision, applied: 1 };
}
