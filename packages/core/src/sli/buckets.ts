/**
 * The shape of one SLI bucket: what happened on one route × upstream in one second (or one
 * minute after roll-up). The latency histogram uses the fixed boundaries below, shared by the
 * gateway (which fills it), the store (which sums it) and the dashboard (which reads
 * percentiles from it), so buckets from any source can be added together.
 */
import type { OutcomeKind } from "../outcome";

/** Upper bounds (ms, inclusive) of the latency histogram; a last, open bucket follows. */
export const LATENCY_BOUNDS_MS: readonly number[] = [
  1, 2, 3, 5, 7, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500,
  2000, 3000, 5000, 7500, 10_000, 15_000, 30_000, 60_000,
];
/** Number of histogram cells: one per bound plus the overflow cell. */
export const LATENCY_CELLS = LATENCY_BOUNDS_MS.length + 1;

export type OutcomeCounts = Record<OutcomeKind, number>;

export interface SliBucket {
  /** Start of the bucket, wall-clock ms since the epoch, aligned to the bucket size. */
  start: number;
  route: string;
  upstream: string;
  counts: OutcomeCounts;
  /** Requests answered by the gateway without a final upstream response: by cause. */
  rejected: number;
  retries: number;
  fallbacks: number;
  /** Requests slower than the route's SLO latency threshold. */
  slow: number;
  /** Histogram cell counts, length {@link LATENCY_CELLS}. */
  latency: number[];
}

export function emptyCounts(): OutcomeCounts {
  return {
    success: 0,
    http_5xx: 0,
    connect_error: 0,
    timeout: 0,
    rate_limited: 0,
    client_error: 0,
  };
}

/** Index of the histogram cell for a latency. */
export function latencyCell(ms: number): number {
  // Binary search over the bounds: ~5 comparisons.
  let lo = 0;
  let hi = LATENCY_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ms <= LATENCY_BOUNDS_MS[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Percentile from histogram cells, interpolated linearly inside the cell that holds it.
 * Returns 0 for an empty histogram.
 */
export function percentileFromCells(cells: readonly number[], p: number): number {
  let total = 0;
  for (const c of cells) total += c;
  if (total === 0) return 0;
  const rank = (p / 100) * total;
  let seen = 0;
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i]!;
    if (c === 0) continue;
    if (seen + c >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const upper = LATENCY_BOUNDS_MS[i] ?? lower * 2;
      const within = c === 0 ? 0 : (rank - seen) / c;
      return lower + (upper - lower) * Math.min(1, Math.max(0, within));
    }
    seen += c;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}

/** Add histogram `b` into `a` in place. */
export function addCells(a: number[], b: readonly number[]): void {
  for (let i = 0; i < b.length; i++) a[i] = (a[i] ?? 0) + (b[i] ?? 0);
}
