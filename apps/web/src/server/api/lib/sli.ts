/**
 * The dashboard's view of SLI data: one place that adapts the store's summaries and series to
 * what procedures return. Error rates are fractions (0–1), latencies ms, rates per second.
 *
 * "Requests" and "bad" follow the core's SLI definition (see `badRequests`): requests the
 * gateway refused itself count too, and a request a fallback answered is not bad.
 */
import { badRequests, burnRate, errorBudget } from "@rg/core";
import { readSliSeries, readSliSummary, type SliPoint, type Store } from "@rg/db";

export interface SliTotals {
  total: number;
  bad: number;
  errorRate: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
}

const EMPTY: SliTotals = { total: 0, bad: 0, errorRate: 0, rps: 0, p50: 0, p95: 0, p99: 0 };

export function emptyTotals(): SliTotals {
  return { ...EMPTY };
}

/** Totals per route or per upstream over [from, to). */
export function totalsBy(
  store: Store,
  groupBy: "route" | "upstream",
  from: number,
  to: number,
): Map<string, SliTotals> {
  const out = new Map<string, SliTotals>();
  const seconds = Math.max(1, (to - from) / 1000);
  for (const row of readSliSummary(store, { from, to, groupBy })) {
    const { total, bad } = requestsAndBad(row);
    out.set(row.key, {
      total,
      bad,
      errorRate: total > 0 ? bad / total : 0,
      rps: total / seconds,
      p50: row.p50,
      p95: row.p95,
      p99: row.p99,
    });
  }
  return out;
}

type Counts = Pick<
  SliPoint,
  | "total"
  | "success"
  | "http5xx"
  | "connectError"
  | "timeout"
  | "rateLimited"
  | "clientError"
  | "rejected"
  | "fallbacks"
>;

export function requestsAndBad(p: Counts): { total: number; bad: number } {
  const bad = badRequests({
    counts: {
      success: p.success,
      http_5xx: p.http5xx,
      connect_error: p.connectError,
      timeout: p.timeout,
      rate_limited: p.rateLimited,
      client_error: p.clientError,
    },
    rejected: p.rejected,
    fallbacks: p.fallbacks,
  });
  return { total: p.total + p.rejected, bad };
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/**
 * Totals over a long window (an SLO's days): minute roll-ups up to an hour ago, second
 * buckets for the last hour, which the periodic roll-up may not have reached yet.
 */
export function longWindowTotalsBy(
  store: Store,
  groupBy: "route" | "upstream",
  from: number,
  to: number,
): Map<string, SliTotals> {
  const split = Math.floor((to - HOUR_MS) / MINUTE_MS) * MINUTE_MS;
  if (split <= from) return totalsBy(store, groupBy, from, to);
  const older = cachedMinuteTotals(store, groupBy, Math.floor(from / MINUTE_MS) * MINUTE_MS, split);
  const recent = totalsBy(store, groupBy, split, to);
  const out = new Map<string, SliTotals>();
  for (const key of new Set([...older.keys(), ...recent.keys()])) {
    const a = older.get(key) ?? emptyTotals();
    const b = recent.get(key) ?? emptyTotals();
    const total = a.total + b.total;
    const bad = a.bad + b.bad;
    out.set(key, {
      total,
      bad,
      errorRate: total > 0 ? bad / total : 0,
      rps: total / Math.max(1, (to - from) / 1000),
      // Percentiles of the recent part: the long window is only used for budgets.
      p50: b.p50,
      p95: b.p95,
      p99: b.p99,
    });
  }
  return out;
}

/**
 * The minute part of a long window only changes when the split moves (once a minute), while
 * the overview is polled every second or two: keep the last result per store and grouping.
 */
const minuteCache = new WeakMap<
  Store,
  Map<string, { key: string; value: Map<string, SliTotals> }>
>();

function cachedMinuteTotals(
  store: Store,
  groupBy: "route" | "upstream",
  from: number,
  to: number,
): Map<string, SliTotals> {
  let perStore = minuteCache.get(store);
  if (!perStore) {
    perStore = new Map();
    minuteCache.set(store, perStore);
  }
  const slot = `${groupBy}|${to - from}`;
  const key = `${from}|${to}`;
  const hit = perStore.get(slot);
  if (hit?.key === key) return hit.value;
  const value = totalsBy(store, groupBy, from, to);
  perStore.set(slot, { key, value });
  return value;
}

export interface SparkPoint {
  t: number;
  rps: number;
  errorRate: number;
}

/** A coarse recent series for a card's sparkline. */
export function sparkline(
  store: Store,
  key: { upstream?: string; route?: string },
  from: number,
  to: number,
  stepMs: number,
): SparkPoint[] {
  return readSliSeries(store, { ...key, from, to, stepMs }).map((p) => {
    const { total, bad } = requestsAndBad(p);
    return { t: p.t, rps: total / (stepMs / 1000), errorRate: total > 0 ? bad / total : 0 };
  });
}

export function burn(t: SliTotals | undefined, target: number): number {
  return t && t.total > 0 ? burnRate(t.errorRate, target) : 0;
}

/** Share of the error budget left (1 untouched, ≤ 0 spent). */
export function budgetLeft(t: SliTotals | undefined, target: number): number {
  if (!t) return 1;
  return errorBudget({ target, good: t.total - t.bad, total: t.total }).remainingFraction;
}
