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
  if (ms > 0 && ms < 0.05) return "<0.1 ms";
  if (ms < 10) return `${trim(ms, 1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${trim(ms / 1000, 2)} s`;
}

/** Most decimals a percentage just below 100 is given before it reads ">99.999%". */
const MAX_NEAR_100_DIGITS = 3;

/**
 * A percentage. `value` is already a percentage (0–100) unless `fraction` is set (0–1).
 * `digits` (default: 2 below 0.1, 1 below 10, else 0) are the decimals shown, trailing zeros
 * dropped. Rounding never hides that a value is not 0 or not 100: 0.003 reads "<0.01%", and
 * 99.5 or a 99.999% target keep the decimals that tell them from 100 ("99.5%", "99.999%"),
 * up to three; closer still reads ">99.999%".
 */
export function formatPercent(
  value: number | null | undefined,
  opts: { fraction?: boolean; digits?: number } = {},
): string {
  if (missing(value)) return DASH;
  const p = opts.fraction ? value * 100 : value;
  if (p === 0) return "0%";
  const abs = Math.abs(p);
  let digits = opts.digits ?? (abs < 0.1 ? 2 : abs < 10 ? 1 : 0);
  if (Number(abs.toFixed(digits)) === 0) {
    const bound = trim(10 ** -digits, digits);
    return p > 0 ? `<${bound}%` : `>-${bound}%`;
  }
  if (abs < 100) {
    while (digits < MAX_NEAR_100_DIGITS && Number(abs.toFixed(digits)) >= 100) digits++;
    if (Number(abs.toFixed(digits)) >= 100) {
      const bound = (100 - 10 ** -digits).toFixed(digits);
      return p > 0 ? `>${bound}%` : `<-${bound}%`;
    }
  }
  return `${trim(p, digits)}%`;
}

/**
 * Requests per second: "0", "0.4", "12.5", "1.2k". A non-zero rate that would round to 0
 * reads "<0.1", or with `exact` two significant digits ("0.033"), for chart axes and tooltips.
 */
export function formatRate(rps: number | null | undefined, opts: { exact?: boolean } = {}): string {
  if (missing(rps)) return DASH;
  if (rps === 0) return "0";
  if (Math.abs(rps) < 0.05) return opts.exact ? String(Number(rps.toPrecision(2))) : "<0.1";
  if (rps < 10) return trim(rps, 1);
  if (rps < 1000) return String(Math.round(rps));
  return `${trim(rps / 1000, 1)}k`;
}

/** A burn rate multiple: "0.3×", "14.4×". */
export function formatBurn(rate: number | null | undefined): string {
  if (missing(rate)) return DASH;
  if (rate > 0 && rate < 0.05) return "<0.1×";
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
