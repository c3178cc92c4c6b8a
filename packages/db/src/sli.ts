/**
 * SLI buckets: per second per route × upstream, rolled up to minutes, read back as chart-ready
 * series and per-key summaries. Histograms are added inside SQLite (see sql-functions.ts).
 */
import { LATENCY_CELLS, percentileFromCells, type SliBucket } from "@rg/core/sli";
import { parseCells } from "./sql-functions";
import { deleteEventsBefore } from "./events";
import { prepared, writeTx, type Store } from "./store";

const COUNT_COLUMNS = [
  "success",
  "http_5xx",
  "connect_error",
  "timeout",
  "rate_limited",
  "client_error",
  "rejected",
  "retries",
  "fallbacks",
  "slow",
] as const;

const upsertSql = (table: string) =>
  `INSERT INTO ${table} (start, route, upstream, ${COUNT_COLUMNS.join(", ")}, latency)
   VALUES (${new Array(COUNT_COLUMNS.length + 4).fill("?").join(", ")})
   ON CONFLICT(route, upstream, start) DO UPDATE SET
   ${COUNT_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")},
   latency = rg_add_cells(latency, excluded.latency)`;

export const SLI_UPSERT_SQL = upsertSql("sli_seconds");

export function bucketParams(b: SliBucket): unknown[] {
  const c = b.counts;
  return [
    b.start,
    b.route,
    b.upstream,
    c.success,
    c.http_5xx,
    c.connect_error,
    c.timeout,
    c.rate_limited,
    c.client_error,
    b.rejected,
    b.retries,
    b.fallbacks,
    b.slow,
    JSON.stringify(b.latency),
  ];
}

export { prepared };

/** Upsert-add second buckets: a second that arrives twice is summed, not replaced. */
export function writeSliBuckets(store: Store, buckets: readonly SliBucket[]): number {
  if (buckets.length === 0) return 0;
  const stmt = prepared(store, SLI_UPSERT_SQL);
  return writeTx(store, () => {
    for (const b of buckets) stmt.run(...bucketParams(b));
    return buckets.length;
  });
}

const MINUTE = 60_000;
const ROLLUP_KEY = "rollup_minutes_upto";
/**
 * Time before the watermark recomputed on each roll-up, to take in late seconds (buckets
 * normally arrive a flush or two after their second closes; this also covers a stalled flush).
 */
const ROLLUP_SLACK_MS = MINUTE;

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** How long runRetention keeps second buckets by default. */
export const SECONDS_KEEP_MS = 6 * HOUR;
/** How long runRetention keeps minute roll-ups by default (hour roll-ups: twice as long). */
export const MINUTES_KEEP_MS = 30 * DAY;

const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;

/** Recompute `dst` rows (bucket size `size`) from `src` rows in [from, to), replacing them. */
function recompute(store: Store, src: string, dst: string, size: number, from: number, to: number) {
  return prepared(
    store,
    `INSERT INTO ${dst} (start, route, upstream, ${COUNT_COLUMNS.join(", ")}, latency)
     SELECT (start / ${size}) * ${size} AS b, route, upstream,
       ${COUNT_COLUMNS.map((c) => `sum(${c})`).join(", ")}, rg_sum_cells(latency)
     FROM ${src} WHERE start >= ? AND start < ?
     GROUP BY b, route, upstream
     ON CONFLICT(route, upstream, start) DO UPDATE SET
     ${COUNT_COLUMNS.map((c) => `${c} = excluded.${c}`).join(", ")}, latency = excluded.latency`,
  ).run(from, to).changes;
}

/** Rebuild hour roll-ups for [from, to) from the minute table (e.g. after importing minutes). */
export function rollupHours(store: Store, from: number, to: number): number {
  const a = Math.floor(from / HOUR) * HOUR;
  const b = Math.ceil(to / HOUR) * HOUR;
  return writeTx(store, () => recompute(store, "sli_minutes", "sli_hours", HOUR, a, b));
}

/**
 * Sum completed seconds (before the minute holding `uptoWallMs`) into the minute table, and
 * the minutes into the hour table (the current hour partially, completed on later runs).
 * Each call covers at most `maxSpanMs` (default 15 min) past the watermark, skipping
 * minutes no second was stored for; call it again until `to` reaches `uptoWallMs` to work
 * off a backlog.
 * Idempotent: each bucket is recomputed from its parts and replaced, never added twice.
 */
export function rollupMinutes(
  store: Store,
  uptoWallMs: number,
  opts: { maxSpanMs?: number } = {},
): { minutes: number; hours: number; from: number; to: number } {
  const upto = Math.floor(uptoWallMs / MINUTE) * MINUTE;
  const maxSpan = Math.max(MINUTE, opts.maxSpanMs ?? 15 * MINUTE);
  return writeTx(store, () => {
    const mark = prepared(store, "SELECT value FROM store_meta WHERE key = ?")
      .pluck()
      .get(ROLLUP_KEY) as number | undefined;
    let from: number;
    if (mark === undefined) {
      const min = prepared(store, "SELECT min(start) FROM sli_seconds").pluck().get() as
        number | null;
      if (min === null) return { minutes: 0, hours: 0, from: upto, to: upto };
      from = floorTo(min, MINUTE);
    } else {
      from = Math.max(0, mark - ROLLUP_SLACK_MS);
      // Start at the minute of the next stored second: an empty gap (downtime) is skipped,
      // not walked a span per call, which after a week off would take hours of upkeep.
      const next = prepared(store, "SELECT min(start) FROM sli_seconds WHERE start >= ?")
        .pluck()
        .get(from) as number | null;
      from = Math.max(from, next === null ? upto : Math.min(upto, floorTo(next, MINUTE)));
    }
    // A backlog (first run, or after downtime) is worked off a bounded span per call, so no
    // single call holds the write lock or the event loop for long.
    const to = Math.min(upto, from + maxSpan);
    if (to <= from) return { minutes: 0, hours: 0, from, to };
    const minutes = recompute(store, "sli_seconds", "sli_minutes", MINUTE, from, to);
    const hourFrom = Math.floor(from / HOUR) * HOUR;
    const hourTo = Math.ceil(to / HOUR) * HOUR;
    const hours = recompute(store, "sli_minutes", "sli_hours", HOUR, hourFrom, hourTo);
    prepared(
      store,
      "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
    ).run(ROLLUP_KEY, to);
    return { minutes, hours, from, to };
  });
}

export interface RetentionOptions {
  now?: number;
  secondsKeepMs?: number;
  minutesKeepMs?: number;
  /** Default: twice minutesKeepMs. */
  hoursKeepMs?: number;
  eventsKeepMs?: number;
  /** Rows deleted per statement; each batch is its own short transaction. */
  batchSize?: number;
  /** Batches per table per call (default: until done); bounds the time one call takes. */
  maxBatches?: number;
}

export interface RetentionResult {
  events: number;
  sliSeconds: number;
  sliMinutes: number;
  sliHours: number;
}

/**
 * The store_meta key under which retention records, for an SLI table, the cutoff before
 * which it has deleted rows of it (readers then take such ranges from a coarser table).
 */
const trimmedKey = (table: string) => `retention_${table}_before`;

const RECORD_TRIM_SQL =
  "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)";

function deleteBefore(
  store: Store,
  table: string,
  before: number,
  batch: number,
  maxBatches: number,
  /** The row's key: `rowid`, or the primary key's columns for a WITHOUT ROWID table. */
  key = "rowid",
): number {
  const stmt = prepared(
    store,
    `DELETE FROM ${table} WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE start < ? LIMIT ?)`,
  );
  const record = prepared(store, RECORD_TRIM_SQL);
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const n = writeTx(store, () => {
      const changes = stmt.run(before, batch).changes;
      // In the same transaction: no reader sees the rows gone without knowing it.
      if (changes > 0) record.run(trimmedKey(table), before);
      return changes;
    });
    total += n;
    if (n < batch) break;
  }
  return total;
}

/** Delete old rows in small batches so no write lock is held for long. */
export function runRetention(store: Store, opts: RetentionOptions = {}): RetentionResult {
  const now = opts.now ?? Date.now();
  const batch = Math.max(1, opts.batchSize ?? 5000);
  const maxBatches = Math.max(1, opts.maxBatches ?? Number.POSITIVE_INFINITY);
  const minutesKeepMs = opts.minutesKeepMs ?? MINUTES_KEEP_MS;
  const result = {
    events: deleteEventsBefore(
      store,
      now - (opts.eventsKeepMs ?? 30 * 86_400_000),
      batch,
      maxBatches,
    ),
    sliSeconds: deleteBefore(
      store,
      "sli_seconds",
      now - (opts.secondsKeepMs ?? SECONDS_KEEP_MS),
      batch,
      maxBatches,
      "start, route, upstream",
    ),
    sliMinutes: deleteBefore(store, "sli_minutes", now - minutesKeepMs, batch, maxBatches),
    sliHours: deleteBefore(
      store,
      "sli_hours",
      now - (opts.hoursKeepMs ?? 2 * minutesKeepMs),
      batch,
      maxBatches,
    ),
  };
  // Keeps the planner's statistics fresh as tables grow and shrink (cheap when nothing changed).
  store.sqlite.pragma("optimize");
  return result;
}

// ---------------------------------------------------------------------------------------------
// Reading.
// ---------------------------------------------------------------------------------------------

export interface SliTotals {
  total: number;
  success: number;
  http5xx: number;
  connectError: number;
  timeout: number;
  rateLimited: number;
  clientError: number;
  rejected: number;
  retries: number;
  fallbacks: number;
  slow: number;
  /** (5xx + connect errors + timeouts) / total; 0 when there was no traffic. */
  errorRate: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface SliPoint extends SliTotals {
  /** Start of the step, wall ms. */
  t: number;
}

export interface SliSummaryRow extends SliTotals {
  key: string;
  /** Requests per second over the range. */
  rps: number;
}

interface AggRow {
  success: number;
  http_5xx: number;
  connect_error: number;
  timeout: number;
  rate_limited: number;
  client_error: number;
  rejected: number;
  retries: number;
  fallbacks: number;
  slow: number;
  latency: string | null;
}

function totalsOf(r: AggRow | undefined): SliTotals {
  const cells = r ? parseCells(r.latency) : new Array<number>(LATENCY_CELLS).fill(0);
  const g = (k: keyof Omit<AggRow, "latency">) => (r ? Number(r[k] ?? 0) : 0);
  const total =
    g("success") +
    g("http_5xx") +
    g("connect_error") +
    g("timeout") +
    g("rate_limited") +
    g("client_error");
  const failures = g("http_5xx") + g("connect_error") + g("timeout");
  return {
    total,
    success: g("success"),
    http5xx: g("http_5xx"),
    connectError: g("connect_error"),
    timeout: g("timeout"),
    rateLimited: g("rate_limited"),
    clientError: g("client_error"),
    rejected: g("rejected"),
    retries: g("retries"),
    fallbacks: g("fallbacks"),
    slow: g("slow"),
    errorRate: total === 0 ? 0 : failures / total,
    p50: percentileFromCells(cells, 50),
    p95: percentileFromCells(cells, 95),
    p99: percentileFromCells(cells, 99),
  };
}

/** Ranges up to this length are read from second buckets; longer ones from minutes. */
export const SECONDS_RANGE_LIMIT_MS = 2 * 3_600_000;
/** Ranges longer than this, with steps of whole hours, are read from hour roll-ups. */
export const MINUTES_RANGE_LIMIT_MS = 2 * 86_400_000;
const MAX_POINTS = 2000;
const DEFAULT_POINTS = 300;

export type SliResolution = "auto" | "seconds" | "minutes" | "hours";

interface Table {
  table: string;
  unit: number;
}

const TABLES = {
  seconds: { table: "sli_seconds", unit: 1000 },
  minutes: { table: "sli_minutes", unit: MINUTE },
  hours: { table: "sli_hours", unit: HOUR },
} as const satisfies Record<string, Table>;

/** Finest first. */
const LEVELS: readonly Table[] = [TABLES.seconds, TABLES.minutes, TABLES.hours];

/** Per table, the time before which retention has deleted rows of it (absent: none). */
type Trimmed = Partial<Record<string, number>>;

function readTrimmed(store: Store): Trimmed {
  const rows = prepared(store, "SELECT key, value FROM store_meta WHERE key IN (?, ?, ?)").all(
    ...LEVELS.map((t) => trimmedKey(t.table)),
  ) as { key: string; value: number }[];
  const out: Trimmed = {};
  for (const t of LEVELS) out[t.table] = rows.find((r) => r.key === trimmedKey(t.table))?.value;
  return out;
}

/** Whether retention has left `t`'s rows from `at` on. */
const holds = (trimmed: Trimmed, t: Table, at: number) => at >= (trimmed[t.table] ?? -Infinity);

function pickTable(
  trimmed: Trimmed,
  from: number,
  to: number,
  resolution: SliResolution = "auto",
  stepMs?: number,
): Table {
  if (resolution !== "auto") return TABLES[resolution];
  const range = to - from;
  const wholeHours =
    from % HOUR === 0 && to % HOUR === 0 && (stepMs === undefined || stepMs % HOUR === 0);
  const step = stepMs ?? range / DEFAULT_POINTS;
  let level =
    range <= SECONDS_RANGE_LIMIT_MS
      ? 0
      : range > MINUTES_RANGE_LIMIT_MS && step >= HOUR && (wholeHours || range >= 7 * DAY)
        ? 2
        : 1;
  // A table retention has already emptied at `from` would show no traffic there although a
  // coarser one (kept longer) still holds it; the hour table is the last resort.
  while (level < LEVELS.length - 1 && !holds(trimmed, LEVELS[level]!, from)) level++;
  return LEVELS[level]!;
}

function filters(q: { route?: string; upstream?: string }): { sql: string; params: string[] } {
  let s = "";
  const params: string[] = [];
  if (q.route !== undefined) {
    s += " AND route = ?";
    params.push(q.route);
  }
  if (q.upstream !== undefined) {
    s += " AND upstream = ?";
    params.push(q.upstream);
  }
  return { sql: s, params };
}

const SUMS = `${COUNT_COLUMNS.map((c) => `sum(${c}) AS ${c}`).join(", ")}, rg_sum_cells(latency) AS latency`;

interface Segment {
  table: Table;
  from: number;
  to: number;
}

/**
 * Where to read [from, to) when `t` is the table chosen: its whole buckets from it, and the
 * partial ones at either end from the next finer table (down to seconds) where retention has
 * left it, so that totals are exact for [from, to). Where it has not, an end is read from `t`
 * by bucket start (a partial first bucket left out, a partial last one counted whole).
 */
function segments(trimmed: Trimmed, t: Table, from: number, to: number): Segment[] {
  const finer = LEVELS[LEVELS.indexOf(t) - 1];
  if (!finer) return [{ table: t, from, to }];
  const a = Math.min(Math.ceil(from / t.unit) * t.unit, to);
  const b = Math.max(floorTo(to, t.unit), a);
  const edge = (x: number, y: number): Segment[] =>
    x >= y
      ? []
      : holds(trimmed, finer, x)
        ? segments(trimmed, finer, x, y)
        : [{ table: t, from: x, to: y }];
  const out: Segment[] = [];
  for (const seg of [
    ...edge(from, a),
    ...(a < b ? [{ table: t, from: a, to: b }] : []),
    ...edge(b, to),
  ]) {
    const last = out.at(-1);
    if (last && last.table === seg.table && last.to === seg.from) last.to = seg.to;
    else out.push(seg);
  }
  return out;
}

/**
 * The FROM and WHERE of a read of [from, to) for `t`: one table's rows, or (when the ends are
 * read from finer tables) the union of each segment's.
 */
function source(
  trimmed: Trimmed,
  t: Table,
  q: { from: number; to: number; route?: string; upstream?: string },
): { sql: string; params: unknown[] } {
  const f = filters(q);
  const segs = segments(trimmed, t, q.from, q.to);
  const params = segs.flatMap((g) => [g.from, g.to, ...f.params]);
  const where = `WHERE start >= ? AND start < ?${f.sql}`;
  if (segs.length === 1) return { sql: `FROM ${segs[0]!.table.table} ${where}`, params };
  const cols = `start, route, upstream, ${COUNT_COLUMNS.join(", ")}, latency`;
  const arms = segs.map((g) => `SELECT ${cols} FROM ${g.table.table} ${where}`);
  return { sql: `FROM (${arms.join(" UNION ALL ")})`, params };
}

export interface SliSeriesQuery {
  route?: string;
  upstream?: string;
  from: number;
  to: number;
  /** Step between points (rounded up to the table's granularity). Default: ~300 points. */
  stepMs?: number;
  /**
   * Which buckets to read; "auto" picks by range (seconds ≤ 2 h, hours for long ranges), and
   * a coarser table where retention has already deleted the finer one's rows at `from`.
   */
  resolution?: SliResolution;
}

/**
 * Chart-ready points from `from` (inclusive) to `to` (exclusive), one per step, gaps filled
 * with zeros. Ranges ≤ 2 h read second buckets, longer ones minute roll-ups, and ranges over
 * 2 days with whole-hour steps hour roll-ups; a range starting before a table's retention
 * reads the next coarser one. The partial buckets at the ends of an unaligned range are read
 * from finer tables, so only traffic inside [from, to) is counted.
 */
export function readSliSeries(store: Store, q: SliSeriesQuery): SliPoint[] {
  if (!(q.to > q.from)) return [];
  const trimmed = readTrimmed(store);
  const table = pickTable(trimmed, q.from, q.to, q.resolution, q.stepMs);
  const { unit } = table;
  const range = q.to - q.from;
  let step = q.stepMs ?? range / DEFAULT_POINTS;
  step = Math.max(unit, Math.ceil(step / unit) * unit);
  if (range / step > MAX_POINTS) step = Math.ceil(range / MAX_POINTS / unit) * unit;
  const src = source(trimmed, table, q);
  const rows = prepared(
    store,
    `SELECT (start / ${step}) * ${step} AS t, ${SUMS} ${src.sql} GROUP BY t ORDER BY t`,
  ).all(...src.params) as (AggRow & { t: number })[];
  const byT = new Map(rows.map((r) => [r.t, r]));
  const out: SliPoint[] = [];
  for (let t = Math.floor(q.from / step) * step; t < q.to; t += step)
    out.push({ t, ...totalsOf(byT.get(t)) });
  return out;
}

export interface SliSummaryQuery {
  from: number;
  to: number;
  groupBy: "route" | "upstream";
  route?: string;
  upstream?: string;
  resolution?: SliResolution;
}

/** Totals, error rate, percentiles and rps per route or per upstream over a range. */
export function readSliSummary(store: Store, q: SliSummaryQuery): SliSummaryRow[] {
  if (!(q.to > q.from)) return [];
  const trimmed = readTrimmed(store);
  const src = source(trimmed, pickTable(trimmed, q.from, q.to, q.resolution, HOUR), q);
  const key = q.groupBy === "route" ? "route" : "upstream";
  const rows = prepared(
    store,
    `SELECT ${key} AS key, ${SUMS} ${src.sql} GROUP BY ${key} ORDER BY ${key}`,
  ).all(...src.params) as (AggRow & { key: string })[];
  const seconds = (q.to - q.from) / 1000;
  return rows.map((r) => {
    const t = totalsOf(r);
    return { key: r.key, ...t, rps: t.total / seconds };
  });
}
