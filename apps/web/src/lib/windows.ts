/** Time windows offered by the charts' window picker, and the range each one asks for. */

export interface TimeWindow {
  id: string;
  label: string;
  ms: number;
}

export const WINDOWS: readonly TimeWindow[] = [
  { id: "15m", label: "15 min", ms: 15 * 60_000 },
  { id: "1h", label: "1 h", ms: 3_600_000 },
  { id: "6h", label: "6 h", ms: 6 * 3_600_000 },
  { id: "24h", label: "24 h", ms: 24 * 3_600_000 },
  { id: "7d", label: "7 d", ms: 7 * 86_400_000 },
  { id: "30d", label: "30 d", ms: 30 * 86_400_000 },
];

export function windowById(id: string | null | undefined): TimeWindow {
  return WINDOWS.find((w) => w.id === id) ?? WINDOWS[0]!;
}

/**
 * The [from, to] range for a window ending now, with `to` rounded up to `alignMs` so that
 * polls within the same second ask for the same range (and share a cache entry).
 */
export function rangeFor(w: TimeWindow, now: number, alignMs = 1000): { from: number; to: number } {
  const to = Math.ceil(now / alignMs) * alignMs;
  return { from: to - w.ms, to };
}

/** How often a chart of this window needs fresh data: live for short windows, slower for long. */
export function refetchMsFor(w: TimeWindow): number {
  if (w.ms <= 3_600_000) return 2000;
  if (w.ms <= 86_400_000) return 10_000;
  return 60_000;
}

/**
 * The request's wall time for server components: they render once per request, so reading
 * the clock there is stable, and the client continues from the same instant.
 */
export function requestTime(): number {
  return Date.now();
}
