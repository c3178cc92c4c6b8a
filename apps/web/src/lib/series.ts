/**
 * Turning stored SLI points (counts per step) into what the charts plot: rates per second,
 * percentages, and a step inferred from the points themselves so a missing second does not
 * distort the rate.
 */

export interface CountPoint {
  t: number;
  total: number;
  success: number;
  http5xx: number;
  connectError: number;
  timeout: number;
  rateLimited: number;
  clientError: number;
  rejected: number;
}

export const OUTCOMES = [
  { key: "success", label: "Success", color: "#3f9b68" },
  { key: "clientError", label: "Client error (4xx)", color: "#8a95a5" },
  { key: "rateLimited", label: "Rate limited (429)", color: "#d59a2a" },
  { key: "rejected", label: "Rejected by gateway", color: "#7b5cc4" },
  { key: "timeout", label: "Timeout", color: "#e0713a" },
  { key: "connectError", label: "Connect error", color: "#a33c8f" },
  { key: "http5xx", label: "HTTP 5xx", color: "#c93c44" },
] as const;

export type OutcomeKey = (typeof OUTCOMES)[number]["key"];

/** The most common gap between consecutive points (ms); `fallback` with fewer than 2 points. */
export function inferStep(ts: readonly number[], fallback = 1000): number {
  const counts = new Map<number, number>();
  for (let i = 1; i < ts.length; i++) {
    const d = ts[i]! - ts[i - 1]!;
    if (d > 0) counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  let best = fallback;
  let n = 0;
  for (const [d, c] of counts) if (c > n || (c === n && d < best)) [best, n] = [d, c];
  return best;
}

/** Counts per step → requests per second per outcome. */
export function toRates<P extends CountPoint>(
  points: readonly P[],
  stepMs = inferStep(points.map((p) => p.t)),
): ({ t: number } & Record<OutcomeKey, number>)[] {
  const perSec = 1000 / stepMs;
  return points.map((p) => {
    const row = { t: p.t } as { t: number } & Record<OutcomeKey, number>;
    for (const o of OUTCOMES) row[o.key] = round((p[o.key] ?? 0) * perSec);
    return row;
  });
}

/** An error rate that may be a fraction (0–1) or a percentage, normalised to a percentage. */
export function asPercent(value: number | null | undefined, isFraction: boolean): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  return round(isFraction ? value * 100 : value);
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
