/**
 * Breaker states and modes as people read them: a label, an icon that differs in shape (not
 * only colour) and a tone that picks the colour; why a breaker tripped, in one sentence; and
 * the breaker strip (state over time) laid out as segments of a time range.
 */
import type { BreakerReason, BreakerState, ModeName } from "@rg/core";
import { formatDuration, formatPercent } from "./format";

export type Tone = "ok" | "warn" | "bad" | "info" | "muted";

export interface StateMeta {
  label: string;
  /** A glyph whose shape alone tells the state apart. */
  icon: string;
  tone: Tone;
}

const BREAKER: Record<BreakerState, StateMeta> = {
  closed: { label: "Closed", icon: "●", tone: "ok" },
  half_open: { label: "Half-open", icon: "◐", tone: "warn" },
  open: { label: "Open", icon: "✕", tone: "bad" },
  forced_open: { label: "Forced open", icon: "⊘", tone: "bad" },
  forced_closed: { label: "Forced closed", icon: "⊙", tone: "info" },
  shadow: { label: "Shadow", icon: "◌", tone: "info" },
};

export function breakerMeta(state: BreakerState | string | null | undefined): StateMeta {
  if (state && state in BREAKER) return BREAKER[state as BreakerState];
  return { label: "No data", icon: "○", tone: "muted" };
}

/** Severity order: the worst state across instances is the one to show. */
const SEVERITY: Record<BreakerState, number> = {
  closed: 0,
  forced_closed: 1,
  shadow: 1,
  half_open: 2,
  open: 3,
  forced_open: 3,
};

export function worstState(states: readonly BreakerState[]): BreakerState | undefined {
  let worst: BreakerState | undefined;
  for (const s of states) if (worst === undefined || SEVERITY[s] > SEVERITY[worst]) worst = s;
  return worst;
}

const MODE: Record<ModeName, StateMeta> = {
  normal: { label: "Normal", icon: "●", tone: "ok" },
  degraded: { label: "Degraded", icon: "◐", tone: "warn" },
  read_only: { label: "Read-only", icon: "⊘", tone: "bad" },
};

export function modeMeta(mode: ModeName | string | null | undefined): StateMeta {
  if (mode && mode in MODE) return MODE[mode as ModeName];
  return { label: String(mode ?? "unknown"), icon: "○", tone: "muted" };
}

export const MODES: readonly ModeName[] = ["normal", "degraded", "read_only"];

/**
 * Why a breaker is in its state, e.g. "failure rate 62% ≥ 50% over 50 calls".
 * Returns undefined when there is nothing worth saying (a closed breaker that never tripped).
 */
export function describeReason(reason: BreakerReason | null | undefined): string | undefined {
  if (!reason) return undefined;
  const over = reason.calls !== undefined ? ` over ${reason.calls} calls` : "";
  const openFor =
    reason.openForMs !== undefined ? `; open for ${formatDuration(reason.openForMs)}` : "";
  const ra =
    reason.retryAfterMs !== undefined
      ? ` (upstream asked to wait ${formatDuration(reason.retryAfterMs)})`
      : "";
  const cmp = (what: string, pct: boolean) => {
    const f = (n: number | undefined) =>
      n === undefined ? "?" : pct ? formatPercent(n) : String(n);
    return `${what} ${f(reason.observed)} ≥ ${f(reason.threshold)}`;
  };
  switch (reason.trigger) {
    case "failure_rate":
      return `${cmp("failure rate", true)}${over}${openFor}${ra}`;
    case "slow_call_rate":
      return `${cmp("slow-call rate", true)}${over}${openFor}${ra}`;
    case "consecutive_failures":
      return `${cmp("consecutive failures", false)}${openFor}${ra}`;
    case "probe_failed":
      return `half-open probe failed${openFor}${ra}`;
    case "probes_succeeded":
      return "half-open probes succeeded";
    case "open_elapsed":
      return "open time elapsed, admitting probes";
    case "forced":
      return "forced by an operator";
    case "released":
      return "released by an operator";
    case "config_changed":
      return "reset by a config change";
    default:
      return String(reason.trigger);
  }
}

export interface StripSpan {
  from: number;
  to: number;
  state: BreakerState | string;
}

export interface StripSegment extends StripSpan {
  /** Position and width as percentages of the range. */
  left: number;
  width: number;
}

/**
 * Lay out breaker state spans on [from, to]: clip to the range, merge neighbours in the same
 * state, and fill any gap with the state in force before it (or "closed" at the start).
 */
export function layoutStrip(spans: readonly StripSpan[], from: number, to: number): StripSegment[] {
  const range = to - from;
  if (!(range > 0)) return [];
  const sorted = [...spans]
    .filter((s) => s.to > from && s.from < to)
    .sort((a, b) => a.from - b.from);
  const out: StripSpan[] = [];
  let cursor = from;
  let last: BreakerState | string = "closed";
  for (const s of sorted) {
    const a = Math.max(from, s.from);
    const b = Math.min(to, s.to);
    if (a > cursor) push(out, { from: cursor, to: a, state: last });
    if (b > Math.max(a, cursor)) push(out, { from: Math.max(a, cursor), to: b, state: s.state });
    cursor = Math.max(cursor, b);
    last = s.state;
  }
  if (cursor < to) push(out, { from: cursor, to, state: out.length ? last : "closed" });
  return out.map((s) => ({
    ...s,
    left: ((s.from - from) / range) * 100,
    width: ((s.to - s.from) / range) * 100,
  }));
}

function push(out: StripSpan[], s: StripSpan): void {
  const prev = out[out.length - 1];
  if (prev && prev.state === s.state && prev.to >= s.from) prev.to = Math.max(prev.to, s.to);
  else out.push({ ...s });
}

/** Turn ordered transitions into spans ending at `to` (each lasts until the next). */
export function spansFromTransitions(
  transitions: readonly { at: number; to: BreakerState | string }[],
  initial: BreakerState | string,
  from: number,
  to: number,
): StripSpan[] {
  const spans: StripSpan[] = [];
  let state = initial;
  let start = from;
  for (const t of [...transitions].sort((a, b) => a.at - b.at)) {
    if (t.at > start) spans.push({ from: start, to: Math.min(t.at, to), state });
    state = t.to;
    start = Math.max(start, t.at);
  }
  if (start < to) spans.push({ from: start, to, state });
  return spans;
}

/**
 * A strip with no known state at all (no transition ever recorded) has been in the breaker's
 * current state since the gateway started: show that rather than "no data".
 */
export function fillUnknown(
  spans: readonly StripSpan[],
  current: BreakerState | undefined,
): StripSpan[] {
  if (!current || spans.some((s) => s.state !== "unknown")) return [...spans];
  return spans.map((s) => ({ ...s, state: current }));
}
