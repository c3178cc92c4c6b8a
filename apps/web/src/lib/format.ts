/**
 * Number and time formatting for the dashboard. Pure, locale-independent (so server and client
 * render the same text and hydration never mismatches), and tolerant of missing values: a
 * missing figure renders as an em dash rather than "NaN".
 */

const DASH = "—";

function missing(n: number | null | undefined): n is null | undefined {
  return n === null || n === undefined || !Number.isFinite(n);
}

/** A compact duration: "850 ms", "4.2 s", "3 min 20 s", "2 h 5 min", "3 d 4 h". */
export function formatDuration(ms: number | null | undefined): string {
  if (missing(ms)) return DASH;
  const neg = ms < 0;
  const v = Math.abs(ms);
  let out: string;
  if (v < 1000) out = `${Math.round(v)} ms`;
  else if (v < 10_000) out = `${trim(v / 1000, 1)} s`;
  else if (v < 60_000) out = `${Math.floor(v / 1000)} s`;
  else if (v < 3_600_000) {
    const m = Math.floor(v / 60_000);
    const s = Math.floor((v % 60_000) / 1000);
    out = s ? `${m} min ${s} s` : `${m} min`;
  } else if (v < 86_400_000) {
    const h = Math.floor(v / 3_600_000);
    const m = Math.floor((v % 3_600_000) / 60_000);
    out = m ? `${h} h ${m} min` : `${h} h`;
  } else {
    const d = Math.floor(v / 86_400_000);
    const h = Math.floor((v % 86_400_000) / 3_600_000);
    out = h ? `${d} d ${h} h` : `${d} d`;
  }
  return neg ? `-${out}` : out;
}

/** "12 s ago", "just now", "in 3 min" relative to `now`. */
export function formatAgo(at: number | null | undefined, now: number): string {
  if (missing(at)) return DASH;
  const d = now - at;
  if (Math.abs(d) < 1000) return "just now";
  return d > 0 ? `${formatDuration(d)} ago` : `in ${formatDuration(-d)}`;
}

/** A latency in ms: "0.8 ms", "42 ms", "1.25 s". */
export function formatMs(ms: number | null | undefined): string {
  if (missing(ms)) return DASH;
  if (ms < 10) return `${trim(ms, 1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${trim(ms / 1000, 2)} s`;
}

/**
 * A percentage. `value` is already a percentage (0–100) unless `fraction` is set (0–1).
 * Small non-zero values keep a significant digit so "0.04 %" is not shown as "0 %".
 */
export function formatPercent(
  value: number | null | undefined,
  opts: { fraction?: boolean; digits?: number } = {},
): string {
  if (missing(value)) return DASH;
  const p = opts.fraction ? value * 100 : value;
  if (p === 0) return "0%";
  const abs = Math.abs(p);
  const digits = opts.digits ?? (abs < 0.1 ? 2 : abs < 10 ? 1 : 0);
  return `${trim(p, digits)}%`;
}

/** Requests per second: "0", "0.4", "12.5", "1.2k". */
export function formatRate(rps: number | null | undefined): string {
  if (missing(rps)) return DASH;
  if (rps === 0) return "0";
  if (rps < 10) return trim(rps, 1);
  if (rps < 1000) return String(Math.round(rps));
  return `${trim(rps / 1000, 1)}k`;
}

/** A burn rate multiple: "0.3×", "14.4×". */
export function formatBurn(rate: number | null | undefined): string {
  if (missing(rate)) return DASH;
  return `${trim(rate, rate < 100 ? 1 : 0)}×`;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** UTC clock time "14:03:27", the form incident timelines and charts use. */
export function formatClock(at: number | null | undefined): string {
  if (missing(at)) return DASH;
  const d = new Date(at);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** UTC date and time "2026-11-23 14:03:27 UTC". */
export function formatDateTime(at: number | null | undefined): string {
  if (missing(at)) return DASH;
  const d = new Date(at);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${formatClock(at)} UTC`;
}

/** Axis tick for a time range: clock time for short ranges, day + hour for long ones. */
export function formatTick(at: number, rangeMs: number): string {
  const d = new Date(at);
  if (rangeMs <= 15 * 60_000)
    return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  if (rangeMs <= 2 * 3_600_000) return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  if (rangeMs <= 2 * 86_400_000) return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}h`;
}

/** A short rendering of any config value for diffs and previews. */
export function formatValue(v: unknown): string {
  if (v === undefined) return "(default)";
  if (v === null) return "null";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

function trim(n: number, digits: number): string {
  const s = n.toFixed(digits);
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}
