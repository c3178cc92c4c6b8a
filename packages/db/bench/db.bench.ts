/**
 * Store benchmarks on a real file in a temp folder:
 * - events/s sustained through the event writer (enqueue + flush cycles, as its timer runs them),
 * - flush time of one second of SLI buckets for 100 routes (p50/p99),
 * - event reads on those events (newest page, one upstream, the breaker strip's two reads),
 * - dashboard queries on 30 days × 20 upstreams of minute roll-ups.
 * The last line printed is one JSON object with every figure.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { emptyCounts, LATENCY_CELLS, type ResilienceEvent, type SliBucket } from "@rg/core";
import {
  createEventWriter,
  openStore,
  queryEvents,
  readSliSeries,
  runMaintenance,
  readSliSummary,
  type Store,
} from "../src/index";
import { seedMinuteRollups } from "../test/seed";

const dir = mkdtempSync(join(tmpdir(), "rg-db-bench-"));
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function benchEvents(store: Store): Promise<{
  eventsPerSec: number;
  eventsPerCpuSec: number;
  written: number;
  dropped: number;
}> {
  const writer = createEventWriter(store, { instanceId: "bench", maxBatch: 50_000 });
  const total = 1_000_000;
  const chunk = 50_000;
  const maxMs = 20_000;
  const t0 = performance.now();
  const c0 = cpuMs();
  let n = 0;
  // Route and upstream ids come from the config in the gateway: the same strings every time.
  const routes = Array.from({ length: 100 }, (_, i) => `r${i}`);
  const upstreams = Array.from({ length: 20 }, (_, i) => `u${i}`);
  while (n < total && performance.now() - t0 < maxMs) {
    const now = Date.now();
    for (let i = 0; i < chunk; i++, n++) {
      const e: ResilienceEvent = {
        type: "retry.scheduled",
        at: now,
        route: routes[n % 100]!,
        upstream: upstreams[n % 20]!,
        attempt: 1 + (n % 3),
        delayMs: n % 250,
        after: "http_5xx",
      };
      writer.enqueueEvent(e);
    }
    writer.flushNow();
  }
  const ms = performance.now() - t0;
  const cpu = cpuMs() - c0;
  const s = writer.stats();
  // Let the checkpointer finish its last checkpoint, so it does not run into the next scenario.
  await writer.close();
  const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
  return {
    eventsPerSec: Math.round(s.written / (ms / 1000)),
    eventsPerCpuSec: Math.round(s.written / (cpu / 1000)),
    written: s.written,
    dropped,
  };
}

/** Median of five timed calls of `fn`, in ms. */
function time(fn: () => unknown): number {
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    fn();
    xs.push(performance.now() - t);
  }
  return round(quantile(xs, 0.5));
}

/** Event reads on the writer bench's store (median of 5, ms). */
function benchEventReads(store: Store) {
  const now = Date.now();
  const types = ["breaker.transition"];
  return {
    newest200Ms: time(() => queryEvents(store, { limit: 200 })),
    oneUpstream200Ms: time(() => queryEvents(store, { upstream: "u7", limit: 200 })),
    paged5x200Ms: time(() => {
      let beforeId: number | undefined;
      for (let p = 0; p < 5; p++) {
        const page = queryEvents(store, { limit: 200, ...(beforeId ? { beforeId } : {}) });
        beforeId = page[page.length - 1]!.id;
      }
    }),
    stripMs: time(() => {
      queryEvents(store, { upstream: "u7", types, to: now - 3_600_001, limit: 1 });
      queryEvents(store, { upstream: "u7", types, from: now - 3_600_000, to: now, limit: 5000 });
    }),
  };
}

/**
 * 300 flushes of 100 routes' SLI seconds. `flushMs` is each transaction's own time;
 * `loopMs` is how long each flush held the caller's event loop: the whole transaction
 * in-thread, only the hand-over to the writer thread with `thread`.
 */
async function benchSli(
  store: Store,
  thread: boolean,
): Promise<{
  p50: number;
  p99: number;
  max: number;
  cpuP99: number;
  loopP99: number;
  loopMax: number;
}> {
  const times: number[] = [];
  const cpuTimes: number[] = [];
  const loopTimes: number[] = [];
  const writer = createEventWriter(store, {
    instanceId: "bench-sli",
    thread,
    onFlush: (i) => {
      if (i.buckets > 0) times.push(i.durationMs);
    },
  });
  const latency = new Array<number>(LATENCY_CELLS).fill(0);
  latency[6] = 80;
  latency[12] = 15;
  latency[20] = 5;
  const base = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
  for (let s = 0; s < 300; s++) {
    // Every tenth second arrives twice (a second split across two flushes): upsert-add.
    const start = base + (s % 10 === 9 ? s - 1 : s) * 1000;
    const buckets: SliBucket[] = [];
    for (let r = 0; r < 100; r++)
      buckets.push({
        start,
        route: `route-${r}`,
        upstream: `up-${r % 20}`,
        counts: { ...emptyCounts(), success: 95, http_5xx: 5 },
        rejected: 1,
        retries: 3,
        fallbacks: 0,
        slow: 2,
        latency,
      });
    writer.enqueueSli(buckets);
    const c0 = cpuMs();
    const t0 = performance.now();
    const done = writer.flushNow();
    loopTimes.push(performance.now() - t0);
    await done;
    cpuTimes.push(cpuMs() - c0);
  }
  await writer.close();
  return {
    p50: round(quantile(times, 0.5), 3),
    p99: round(quantile(times, 0.99), 3),
    max: round(Math.max(...times), 3),
    cpuP99: round(quantile(cpuTimes, 0.99), 3),
    loopP99: round(quantile(loopTimes, 0.99), 3),
    loopMax: round(Math.max(...loopTimes), 3),
  };
}

function benchQueries(store: Store) {
  const to = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const from = to - 30 * 86_400_000;
  const t0 = performance.now();
  const rows = seedMinuteRollups(store, { from, days: 30, upstreams: 20 });
  const seedMs = performance.now() - t0;
  return {
    rows,
    seedMs: Math.round(seedMs),
    series30dOneUpstreamMs: time(() => readSliSeries(store, { upstream: "u7", from, to })),
    series30dOneUpstreamFromMinutesMs: time(() =>
      readSliSeries(store, { upstream: "u7", from, to, resolution: "minutes" }),
    ),
    series30dAllMs: time(() => readSliSeries(store, { from, to })),
    series24hOneUpstreamMs: time(() =>
      readSliSeries(store, { upstream: "u7", from: to - 86_400_000, to }),
    ),
    summary24hByUpstreamMs: time(() =>
      readSliSummary(store, { from: to - 86_400_000, to, groupBy: "upstream" }),
    ),
    summary30dByRouteMs: time(() => readSliSummary(store, { from, to, groupBy: "route" })),
  };
}

/**
 * A fixed pure-JS workload (serialising an event 200 000 times), reported so the other
 * figures can be read against how much CPU this machine gave the process at the time.
 */
function calibrate(): number {
  const e = { type: "retry.scheduled", at: Date.now(), route: "r1", upstream: "u1", attempt: 1 };
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < 200_000; i++) sink += JSON.stringify({ ...e, delayMs: i }).length;
  const ms = performance.now() - t0;
  return sink > 0 ? Math.round(200_000 / (ms / 1000)) : 0;
}

try {
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  const calibration = calibrate();
  console.log(`calibration: ${calibration.toLocaleString("en")} event serialisations/s`);
  const s1 = openStore(join(dir, "events.db"));
  const ev = await benchEvents(s1);
  const reads = benchEventReads(s1);
  s1.close();
  console.log(
    `event writer: ${ev.eventsPerSec.toLocaleString("en")} events/s sustained, ${ev.eventsPerCpuSec.toLocaleString("en")} per CPU-second (${ev.written.toLocaleString("en")} written, ${ev.dropped} dropped)`,
  );
  console.log(
    `event reads: newest 200 ${reads.newest200Ms} ms, one upstream 200 ${reads.oneUpstream200Ms} ms, 5 pages of 200 ${reads.paged5x200Ms} ms, breaker strip ${reads.stripMs} ms`,
  );
  const s2 = openStore(join(dir, "sli.db"));
  const sli = await benchSli(s2, false);
  // The writer's periodic upkeep over those 5 minutes of seconds: roll-ups to minutes and
  // hours, quiet incidents, retention. In-thread it runs on the event loop every 10 s.
  const u0 = performance.now();
  runMaintenance(s2, { now: Date.now(), retention: { maxBatches: 10 } });
  const upkeepMs = round(performance.now() - u0, 3);
  s2.close();
  console.log(
    `SLI flush, 100 routes × 1 s: p50 ${sli.p50} ms, p99 ${sli.p99} ms, max ${sli.max} ms wall; p99 ${sli.cpuP99} ms CPU (300 flushes)`,
  );
  // The same flushes from a writer thread: what the event loop still spends on each.
  const s2t = openStore(join(dir, "sli-thread.db"));
  const sliT = await benchSli(s2t, true);
  s2t.close();
  console.log(
    `SLI flush on the writer thread: p50 ${sliT.p50} ms, p99 ${sliT.p99} ms in the thread; event loop held p99 ${sliT.loopP99} ms, max ${sliT.loopMax} ms (in-thread: p99 ${sli.loopP99} ms, max ${sli.loopMax} ms)`,
  );
  console.log(
    `writer upkeep after 5 min × 100 routes (roll-ups, incidents, retention): ${upkeepMs} ms, on the event loop only in-thread`,
  );
  const s3 = openStore(join(dir, "rollups.db"));
  const q = benchQueries(s3);
  s3.close();
  console.log(
    `seeded ${q.rows.toLocaleString("en")} minute rows (30 d × 1440 × 20) in ${q.seedMs} ms`,
  );
  console.log(`series, 1 upstream, 30 d (hour roll-ups):   ${q.series30dOneUpstreamMs} ms`);
  console.log(
    `series, 1 upstream, 30 d (minute roll-ups): ${q.series30dOneUpstreamFromMinutesMs} ms`,
  );
  console.log(`series, all upstreams, 30 d:                ${q.series30dAllMs} ms`);
  console.log(`series, 1 upstream, 24 h (minutes):         ${q.series24hOneUpstreamMs} ms`);
  console.log(`summary by upstream, 24 h (minutes):        ${q.summary24hByUpstreamMs} ms`);
  console.log(`summary by route, 30 d (hours):             ${q.summary30dByRouteMs} ms`);
  console.log(
    JSON.stringify({
      eventsPerSec: ev.eventsPerSec,
      eventsPerCpuSec: ev.eventsPerCpuSec,
      eventsDropped: ev.dropped,
      eventsNewest200Ms: reads.newest200Ms,
      eventsOneUpstream200Ms: reads.oneUpstream200Ms,
      eventsPaged5x200Ms: reads.paged5x200Ms,
      eventsStripMs: reads.stripMs,
      sliFlushMsP50: sli.p50,
      sliFlushMsP99: sli.p99,
      sliFlushCpuMsP99: sli.cpuP99,
      sliFlushLoopMsP99: sli.loopP99,
      sliThreadFlushMsP99: sliT.p99,
      sliThreadLoopMsP99: sliT.loopP99,
      sliThreadLoopMsMax: sliT.loopMax,
      upkeepMs,
      loadAvg1m: round(loadavg()[0]!, 1),
      calibrationSerialisationsPerSec: calibration,
      minuteRows: q.rows,
      series30dOneUpstreamMs: q.series30dOneUpstreamMs,
      series30dOneUpstreamFromMinutesMs: q.series30dOneUpstreamFromMinutesMs,
      series30dAllMs: q.series30dAllMs,
      series24hOneUpstreamMs: q.series24hOneUpstreamMs,
      summary24hByUpstreamMs: q.summary24hByUpstreamMs,
      summary30dByRouteMs: q.summary30dByRouteMs,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
