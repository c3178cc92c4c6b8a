/**
 * The breaker's state over a time range as contiguous segments, from its transition events
 * (several gateway instances may report; the latest transition wins at each moment).
 */
import type { BreakerState } from "@rg/core";
import { queryEvents, type StoredEvent, type Store } from "@rg/db";

export interface StripSegment {
  from: number;
  to: number;
  state: BreakerState | "unknown";
}

const MAX_TRANSITIONS = 5000;

export function segmentsFrom(
  initial: BreakerState | "unknown",
  transitions: readonly { at: number; to: BreakerState }[],
  from: number,
  to: number,
): StripSegment[] {
  const sorted = [...transitions]
    .filter((t) => t.at >= from && t.at < to)
    .sort((a, b) => a.at - b.at);
  const out: StripSegment[] = [];
  let state = initial;
  let start = from;
  for (const t of sorted) {
    if (t.to === state) continue;
    if (t.at > start) out.push({ from: start, to: t.at, state });
    state = t.to;
    start = t.at;
  }
  if (to > start) out.push({ from: start, to, state });
  // Merge neighbours that ended up equal (e.g. a zero-length segment was skipped).
  return out.reduce<StripSegment[]>((acc, s) => {
    const last = acc[acc.length - 1];
    if (last && last.state === s.state && last.to === s.from) last.to = s.to;
    else acc.push({ ...s });
    return acc;
  }, []);
}

export function breakerStrip(
  store: Store,
  upstream: string,
  from: number,
  to: number,
): StripSegment[] {
  const types = ["breaker.transition" as const];
  const before = queryEvents(store, { upstream, types, to: from - 1, limit: 1 })[0];
  const inRange = queryEvents(store, { upstream, types, from, to, limit: MAX_TRANSITIONS });
  const toState = (e: StoredEvent): BreakerState | undefined =>
    e.event.type === "breaker.transition" ? e.event.to : undefined;
  const initial = (before && toState(before)) ?? "unknown";
  const transitions = inRange.flatMap((e) => {
    const s = toState(e);
    return s ? [{ at: e.at, to: s }] : [];
  });
  return segmentsFrom(initial, transitions, from, to);
}
