/**
 * The settings operators tune from the controls page, grouped as they are in the config, with
 * the unit each number is in. A change is previewed and applied at the group's path.
 */
import type { Config } from "@rg/core";

export interface FieldDef {
  key: string;
  label: string;
  unit: string;
}

export interface GroupDef {
  id: string;
  label: string;
  owner: "upstream" | "route";
  /** Path below `upstreams.<id>` or `routes.<id>`. */
  sub: string;
  fields: FieldDef[];
}

export const GROUPS: readonly GroupDef[] = [
  {
    id: "breaker",
    label: "Circuit breaker",
    owner: "upstream",
    sub: "circuitBreaker",
    fields: [
      { key: "failureRateThreshold", label: "Failure-rate threshold", unit: "%" },
      { key: "slowCallRateThreshold", label: "Slow-call-rate threshold", unit: "%" },
      { key: "slowCallDurationMs", label: "Slow-call duration", unit: "ms" },
      { key: "minimumCalls", label: "Minimum calls", unit: "calls" },
      { key: "consecutiveFailures", label: "Consecutive failures", unit: "0 = off" },
      { key: "openDurationMs", label: "Open duration", unit: "ms" },
      { key: "halfOpenMaxProbes", label: "Half-open probes", unit: "calls" },
    ],
  },
  {
    id: "bulkhead",
    label: "Bulkhead",
    owner: "upstream",
    sub: "bulkhead",
    fields: [
      { key: "maxConcurrent", label: "Max concurrent", unit: "calls" },
      { key: "maxQueue", label: "Max queue", unit: "calls" },
      { key: "queueTimeoutMs", label: "Queue timeout", unit: "ms" },
    ],
  },
  {
    id: "timeouts",
    label: "Timeouts",
    owner: "route",
    sub: "timeouts",
    fields: [
      { key: "connectMs", label: "Connect timeout", unit: "ms" },
      { key: "perTryMs", label: "Per-try timeout", unit: "ms" },
      { key: "totalMs", label: "Total deadline", unit: "ms" },
    ],
  },
  {
    id: "retry",
    label: "Retry",
    owner: "route",
    sub: "retry",
    fields: [
      { key: "maxAttempts", label: "Max attempts", unit: "attempts" },
      { key: "baseDelayMs", label: "Backoff base", unit: "ms" },
      { key: "maxDelayMs", label: "Backoff cap", unit: "ms" },
    ],
  },
];

export function groupById(id: string): GroupDef {
  return GROUPS.find((g) => g.id === id) ?? GROUPS[0]!;
}

export function targetsFor(config: Config, g: GroupDef): string[] {
  return Object.keys(g.owner === "upstream" ? config.upstreams : config.routes).sort();
}

export function groupPath(g: GroupDef, target: string): string {
  return `${g.owner === "upstream" ? "upstreams" : "routes"}.${target}.${g.sub}`;
}

/** A typed field text as a number, or as the text when it is none (validation names it). */
function parseField(text: string): unknown {
  const t = text.trim();
  const n = Number(t);
  return t !== "" && Number.isFinite(n) ? n : text;
}

/**
 * Merge typed field texts into the current group value. Texts that are not numbers are kept
 * as text so validation names the field instead of silently dropping it.
 */
export function mergeEdits(
  current: Record<string, unknown>,
  edits: Record<string, string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...current };
  for (const [k, text] of Object.entries(edits)) out[k] = parseField(text);
  return out;
}

/**
 * Only the fields the operator changed, to be written one by one: sending the whole group
 * would copy the fields left alone (a forced breaker state among them) as they were when the
 * page loaded, undoing what other operators changed since.
 */
export function changedFields(
  current: Record<string, unknown>,
  edits: Record<string, string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, text] of Object.entries(edits)) {
    const v = parseField(text);
    if (v !== current[k]) out[k] = v;
  }
  return out;
}
