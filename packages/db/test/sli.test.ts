import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  appendEvents,
  EVENT_CHUNK_SPAN_MS,
  queryEvents,
  readSliSeries,
  readSliSummary,
  rollupMinutes,
  runRetention,
  writeSliBuckets,
} from "../src/index";
import { seedMinuteRollups } from "./seed";
import { bucket, eventCount, tempStore, type TempStore } from "./helpers";

let t: TempStore;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % 3_600_000); // an hour boundary
const rowCount = (table: string) =>
  t.store.sqlite.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;

describe("SLI buckets", () => {
  it("adds a second that arrives twice instead of replacing it", () => {
    writeSliBuckets(t.store, [bucket(T0, "r", "u", { success: 3, latencyCell: 2 })]);
    writeSliBuckets(t.store, [
      bucket(T0, "r", "u", { success: 1, http_5xx: 1, latencyCell: 20 }),
      bucket(T0, "r2", "u", { success: 7 }),
    ]);
    const [p] = readSliSeries(t.store, { route: "r", from: T0, to: T0 + 1000 });
    expect(p).toMatchObject({ t: T0, total: 5, success: 4, http5xx: 1, errorRate: 0.2 });
    const cells = JSON.parse(
      t.store.sqlite
        .prepare("SELECT latency FROM sli_seconds WHERE route = 'r'")
        .pluck()
        .get() as string,
    ) as number[];
    expect(cells[2]).toBe(3);
    expect(cells[20]).toBe(2);
  });

  it("series: steps, gaps filled with zeros, percentiles from the histogram", () => {
    writeSliBuckets(t.store, [
      bucket(T0, "r", "u", { success: 10, latencyCell: 0 }),
      bucket(T0 + 1000, "r", "u", { success: 10, latencyCell: 0 }),
      bucket(T0 + 5000, "r", "u", { timeout: 5, latencyCell: 26 }),
    ]);
    const pts = readSliSeries(t.store, { upstream: "u", from: T0, to: T0 + 10_000, stepMs: 2000 });
    expect(pts.map((p) => p.t - T0)).toEqual([0, 2000, 4000, 6000, 8000]);
    expect(pts.map((p) => p.total)).toEqual([20, 0, 5, 0, 0]);
    expect(pts[0]!.p99).toBeLessThanOrEqual(1);
    expect(pts[2]!.p50).toBeGreaterThan(5000);
    expect(pts[2]!.errorRate).toBe(1);
  });

  it("rolls seconds up to minutes idempotently and reads long ranges from minutes", () => {
    const buckets = [];
    for (let s = 0; s < 180; s++)
      buckets.push(bucket(T0 + s * 1000, "r", "u", { success: 2, http_5xx: s % 60 === 0 ? 1 : 0 }));
    writeSliBuckets(t.store, buckets);
    // Only completed minutes: the third minute is still open at T0 + 150 s.
    expect(rollupMinutes(t.store, T0 + 150_000).minutes).toBe(2);
    rollupMinutes(t.store, T0 + 150_000);
    rollupMinutes(t.store, T0 + 180_000);
    expect(rowCount("sli_minutes")).toBe(3);
    // A late second for an already rolled-up minute is taken in on the next run.
    writeSliBuckets(t.store, [bucket(T0 + 120_500, "r", "u", { success: 100 })]);
    rollupMinutes(t.store, T0 + 181_000);
    const minutes = t.store.sqlite
      .prepare("SELECT start, success, http_5xx FROM sli_minutes ORDER BY start")
      .all();
    expect(minutes).toEqual([
      { start: T0, success: 120, http_5xx: 1 },
      { start: T0 + 60_000, success: 120, http_5xx: 1 },
      { start: T0 + 120_000, success: 220, http_5xx: 1 },
    ]);
    // A 3-hour range reads minutes.
    const pts = readSliSeries(t.store, { route: "r", from: T0, to: T0 + 3 * 3_600_000 });
    expect(pts[0]!.t).toBe(T0);
    expect(pts.reduce((a, p) => a + p.total, 0)).toBe(463);
    const [sum] = readSliSummary(t.store, {
      from: T0,
      to: T0 + 3 * 3_600_000,
      groupBy: "upstream",
    });
    expect(sum).toMatchObject({ key: "u", total: 463, http5xx: 3 });
    // Hours hold the same totals.
    const hours = t.store.sqlite.prepare("SELECT sum(success) FROM sli_hours").pluck().get();
    expect(hours).toBe(460);
    expect(sum!.rps).toBeCloseTo(463 / 10_800, 6);
  });

  it("works off a backlog a bounded span per call", () => {
    const buckets = [];
    for (let m = 0; m < 40; m++) buckets.push(bucket(T0 + m * 60_000, "r", "u", { success: 1 }));
    writeSliBuckets(t.store, buckets);
    const spans = [];
    for (let i = 0; i < 10; i++) {
      const r = rollupMinutes(t.store, T0 + 40 * 60_000, { maxSpanMs: 15 * 60_000 });
      spans.push((r.to - T0) / 60_000);
      if (r.to === T0 + 40 * 60_000) break;
    }
    // Each call re-reads the minute before its watermark, then goes at most 15 minutes on.
    expect(spans).toEqual([15, 29, 40]);
    expect(rowCount("sli_minutes")).toBe(40);
    expect(t.store.sqlite.prepare("SELECT sum(success) FROM sli_hours").pluck().get()).toBe(40);
  });

  it("reads a window older than a table's retention from a coarser table that still holds it", () => {
    const H = 3_600_000;
    const D = 86_400_000;
    const buckets = [];
    for (let s = 0; s < 360; s++) buckets.push(bucket(T0 + s * 10_000, "r", "u", { success: 1 }));
    writeSliBuckets(t.store, buckets);
    rollupMinutes(t.store, T0 + 2 * H, { maxSpanMs: 2 * H });
    // The next day the seconds are gone; minutes and hours hold the hour.
    const nextDay = T0 + D;
    expect(runRetention(t.store, { now: nextDay }).sliSeconds).toBe(360);
    const total = (pts: { total: number }[]) => pts.reduce((a, p) => a + p.total, 0);
    expect(total(readSliSeries(t.store, { route: "r", from: T0, to: T0 + H }))).toBe(360);
    expect(readSliSummary(t.store, { from: T0, to: T0 + H, groupBy: "route" })).toMatchObject([
      { key: "r", total: 360 },
    ]);
    // Seconds after the cutoff are still read from their own table.
    writeSliBuckets(t.store, [bucket(nextDay - H, "r", "u", { success: 2 })]);
    expect(
      readSliSeries(t.store, { route: "r", from: nextDay - H, to: nextDay - H + 10_000 })[0],
    ).toMatchObject({ t: nextDay - H, total: 2 });
    // 40 days on the minutes are gone too; a one-day chart reads hours.
    const later = T0 + 40 * D;
    expect(runRetention(t.store, { now: later }).sliMinutes).toBe(60);
    expect(total(readSliSeries(t.store, { route: "r", from: T0, to: T0 + D }))).toBe(360);
    expect(readSliSummary(t.store, { from: T0, to: T0 + D, groupBy: "route" })).toMatchObject([
      { key: "r", total: 360 },
    ]);
  });

  it("skips an empty gap after downtime instead of walking it a span per call", () => {
    writeSliBuckets(t.store, [bucket(T0, "r", "u", { success: 1 })]);
    rollupMinutes(t.store, T0 + 120_000);
    // A week later the gateway is back: with nothing stored since, a call does nothing.
    const restart = T0 + 7 * 86_400_000;
    expect(rollupMinutes(t.store, restart)).toMatchObject({ minutes: 0, hours: 0 });
    // Then it writes five minutes of seconds.
    const buckets = [];
    for (let s = 0; s < 300; s++)
      buckets.push(bucket(restart + s * 1000, "r", "u", { success: 1 }));
    writeSliBuckets(t.store, buckets);
    // One call rolls them up, a bounded span past the first stored second.
    const r = rollupMinutes(t.store, restart + 300_000);
    expect(r).toMatchObject({ minutes: 5, from: restart, to: restart + 300_000 });
    const sum = (table: string) =>
      t.store.sqlite
        .prepare(`SELECT sum(success) FROM ${table} WHERE start >= ?`)
        .pluck()
        .get(restart - 3_600_000);
    expect(sum("sli_minutes")).toBe(300);
    expect(sum("sli_hours")).toBe(300);
    // The next call goes back only over the slack minute before the watermark.
    expect(rollupMinutes(t.store, restart + 3_600_000)).toMatchObject({ minutes: 1 });
    expect(rowCount("sli_minutes")).toBe(6);
  });

  it("counts the partial buckets at the ends of an unaligned range exactly, from finer tables", () => {
    const M = 60_000;
    const H = 3_600_000;
    const from = T0 + 30 * M;
    const to = from + 7 * 86_400_000; // read from hours
    writeSliBuckets(t.store, [
      bucket(T0 + 20 * M, "r", "u", { success: 10_000 }), // before from, in from's hour
      bucket(T0 + 45 * M, "r", "u", { success: 100 }), // inside, in from's hour
      bucket(T0 + 2 * H, "r", "u", { success: 10 }), // inside, a whole hour
      bucket(to - 5 * M, "r", "u", { success: 1 }), // inside, in to's hour
      bucket(to + 10 * M, "r", "u", { success: 1000 }), // after to, in to's hour
    ]);
    rollupMinutes(t.store, to + H, { maxSpanMs: 8 * 86_400_000 });
    const [sum] = readSliSummary(t.store, { from, to, groupBy: "route" });
    expect(sum).toMatchObject({ key: "r", total: 111 });
    const pts = readSliSeries(t.store, { route: "r", from, to, stepMs: H });
    expect(pts.reduce((a, p) => a + p.total, 0)).toBe(111);
    expect(pts.slice(0, 3).map((p) => [p.t - T0, p.total])).toEqual([
      [0, 100],
      [H, 0],
      [2 * H, 10],
    ]);
    expect(pts.at(-1)).toMatchObject({ t: to - 30 * M, total: 1 });
    // The same to the second at a minute-table range: ends inside minutes read from seconds.
    const from2 = T0 + 20 * M + 30_000;
    writeSliBuckets(t.store, [
      bucket(from2 - 10_000, "r2", "u", { success: 7 }), // before from2, in its minute
      bucket(from2 + 10_000, "r2", "u", { success: 3 }),
      bucket(from2 + 3 * H - 20_000, "r2", "u", { success: 2 }),
      bucket(from2 + 3 * H + 10_000, "r2", "u", { success: 5 }), // after, in the last minute
    ]);
    rollupMinutes(t.store, to + H, { maxSpanMs: 8 * 86_400_000 });
    const q = { from: from2, to: from2 + 3 * H, route: "r2" };
    expect(readSliSummary(t.store, { ...q, groupBy: "route" })).toMatchObject([{ total: 5 }]);
    expect(readSliSeries(t.store, q).reduce((a, p) => a + p.total, 0)).toBe(5);
  });

  it("summary per route over seconds", () => {
    writeSliBuckets(t.store, [
      bucket(T0, "a", "u", { success: 9, http_5xx: 1 }),
      bucket(T0 + 1000, "b", "u", { success: 4, client_error: 1 }),
    ]);
    const rows = readSliSummary(t.store, { from: T0, to: T0 + 10_000, groupBy: "route" });
    expect(rows.map((r) => [r.key, r.total, r.errorRate, r.rps])).toEqual([
      ["a", 10, 0.1, 1],
      ["b", 5, 0, 0.5],
    ]);
  });
});

describe("retention", () => {
  it("deletes old rows in batches and returns counts", () => {
    const now = T0 + 40 * 86_400_000;
    writeSliBuckets(t.store, [
      bucket(now - 7 * 3_600_000, "r", "u", { success: 1 }),
      bucket(now - 1000, "r", "u", { success: 1 }),
    ]);
    // The old events lie further apart than a chunk may span: one chunk each, so batches
    // (which count chunks) delete one event per row.
    appendEvents(
      t.store,
      "gw",
      Array.from({ length: 25 }, (_, i) => ({
        type: "config.applied" as const,
        at: i < 20 ? now - 31 * 86_400_000 + i * (EVENT_CHUNK_SPAN_MS + 1) : now,
        revision: i,
      })),
    );
    expect(rowCount("event_chunks")).toBe(21);
    const bounded = runRetention(t.store, { now, batchSize: 7, maxBatches: 2 });
    expect(bounded.events).toBe(14);
    const r = runRetention(t.store, { now, batchSize: 7 });
    expect(r).toEqual({ events: 6, sliSeconds: 0, sliMinutes: 0, sliHours: 0 });
    expect(eventCount(t.store)).toBe(5);
    expect(rowCount("sli_seconds")).toBe(1);
  });

  it("deletes a chunk once its last event is past the cutoff, counting its events", () => {
    const keep = 86_400_000;
    const cutoff = T0 + 10 * keep;
    // One chunk from 3 s before the cutoff to 2 s after it, and one wholly before it.
    appendEvents(t.store, "gw", [
      { type: "config.applied", at: cutoff - 3000, revision: 1 },
      { type: "config.applied", at: cutoff + 2000, revision: 2 },
      { type: "config.refused", at: cutoff - 60_000, revision: 3, errors: [] },
      { type: "config.refused", at: cutoff - 50_000, revision: 4, errors: [] },
    ]);
    expect(rowCount("event_chunks")).toBe(2);
    const r = runRetention(t.store, { now: cutoff + keep, eventsKeepMs: keep });
    expect(r.events).toBe(2);
    expect(queryEvents(t.store).map((e) => e.at - cutoff)).toEqual([2000, -3000]);
    expect(runRetention(t.store, { now: cutoff + 2001 + keep, eventsKeepMs: keep }).events).toBe(2);
    expect(eventCount(t.store)).toBe(0);
  });

  it("keeps the file bounded while data keeps arriving", () => {
    const payload = "p".repeat(200);
    const pageCounts: number[] = [];
    for (let round = 0; round < 6; round++) {
      const at = T0 + round * 3_600_000;
      appendEvents(
        t.store,
        "gw",
        Array.from({ length: 3000 }, (_, i) => ({
          type: "fallback.served" as const,
          at: at + i,
          route: "r",
          source: "static" as const,
          after: payload,
        })),
      );
      runRetention(t.store, { now: at + 3_600_000, eventsKeepMs: 3_600_000 });
      t.store.sqlite.pragma("wal_checkpoint(TRUNCATE)");
      pageCounts.push(t.store.sqlite.pragma("page_count", { simple: true }) as number);
    }
    expect(eventCount(t.store)).toBe(3000);
    // Freed pages are reused: after the second round the file stops growing.
    expect(pageCounts[5]!).toBeLessThanOrEqual(pageCounts[1]! * 1.1);
  });
});

describe("30 days of minute roll-ups for 20 upstreams", () => {
  it("series and summary queries use the indexes and stay fast", () => {
    const to = T0;
    const from = to - 30 * 86_400_000;
    const rows = seedMinuteRollups(t.store, { from, days: 30, upstreams: 20 });
    expect(rows).toBe(30 * 1440 * 20);
    const plan = (sqlText: string) =>
      (t.store.sqlite.prepare(`EXPLAIN QUERY PLAN ${sqlText}`).all() as { detail: string }[])
        .map((r) => r.detail)
        .join("; ");
    expect(
      plan(
        `SELECT sum(success) FROM sli_minutes WHERE start >= 0 AND start < 1 AND upstream = 'u1'`,
      ),
    ).toMatch(/USING INDEX sli_minutes_upstream_idx/);
    expect(
      plan(`SELECT sum(success) FROM sli_minutes WHERE start >= 0 AND start < 1 AND route = 'r1'`),
    ).toMatch(/USING (PRIMARY KEY|INDEX)/);
    const time = <T>(fn: () => T): [T, number] => {
      const t0 = performance.now();
      const r = fn();
      return [r, performance.now() - t0];
    };
    // A month chart reads hour roll-ups: 720 rows per upstream.
    const [pts, hoursMs] = time(() =>
      readSliSeries(t.store, { upstream: "u7", from, to, stepMs: 3 * 3_600_000 }),
    );
    expect(pts.length).toBeGreaterThanOrEqual(240); // steps are aligned to the epoch
    expect(pts.length).toBeLessThanOrEqual(241);
    expect(pts.reduce((a, p) => a + p.total, 0)).toBe(30 * 1440 * 10);
    expect(pts[0]!.errorRate).toBeCloseTo(0.1, 9);
    // The same month from minute roll-ups (the index keeps it to one upstream's rows).
    const [fromMinutes, minutesMs] = time(() =>
      readSliSeries(t.store, {
        upstream: "u7",
        from,
        to,
        stepMs: 3 * 3_600_000,
        resolution: "minutes",
      }),
    );
    expect(fromMinutes.map((p) => p.total)).toEqual(pts.map((p) => p.total));
    const [day] = time(() =>
      readSliSummary(t.store, { from: to - 86_400_000, to, groupBy: "upstream" }),
    );
    expect(day).toHaveLength(20);
    expect(day[0]!.total).toBe(14_400);
    const [month] = time(() => readSliSummary(t.store, { from, to, groupBy: "route" }));
    expect(month.map((r) => r.total)).toEqual(new Array(20).fill(432_000));
    // Generous bounds for a shared 2-core machine; the bench reports the real figures.
    expect(hoursMs).toBeLessThan(1000);
    expect(minutesMs).toBeLessThan(5000);
  }, 120_000);
});
