/**
 * overview.get on a store holding 30 days of minute roll-ups for 20 upstreams (one route
 * each), with live snapshots and the last 5 minutes of second buckets: the dashboard's
 * first paint and then its 1–2 s poll. Prints figures, then one JSON line.
 *   npm run bench -w @rg/web
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emptyCounts, LATENCY_CELLS, type SliBucket } from "@rg/core";
import { openStore, seedBootstrapConfig, writeSliBuckets } from "@rg/db";
import { seedMinuteRollups } from "../../../packages/db/test/seed";
import { buildOverview } from "../src/server/api/routers/overview/get";

const UPSTREAMS = 20;
const DAYS = 30;
const POLLS = 20;

const dir = mkdtempSync(join(tmpdir(), "rg-web-bench-"));
const store = openStore(join(dir, "gateway.db"));
try {
  const now = Math.floor(Date.now() / 60_000) * 60_000;
  const from = now - DAYS * 86_400_000;
  const config = {
    upstreams: Object.fromEntries(
      Array.from({ length: UPSTREAMS }, (_, j) => [
        `u${j}`,
        { endpoints: { main: { url: `http://127.0.0.1:${5000 + j}` } } },
      ]),
    ),
    routes: Object.fromEntries(
      Array.from({ length: UPSTREAMS }, (_, j) => [
        `r${j}`,
        { match: { pathPrefix: `/r${j}` }, upstream: `u${j}` },
      ]),
    ),
  };
  seedBootstrapConfig(store, config, "bench");
  const t0 = performance.now();
  const rows = seedMinuteRollups(store, { from, days: DAYS, upstreams: UPSTREAMS });
  const seedMs = performance.now() - t0;
  const latency = new Array<number>(LATENCY_CELLS).fill(0);
  latency[8] = 10;
  const seconds: SliBucket[] = [];
  for (let s = 1; s <= 300; s++)
    for (let j = 0; j < UPSTREAMS; j++) {
      const counts = emptyCounts();
      counts.success = 10;
      seconds.push({
        start: now - s * 1000,
        route: `r${j}`,
        upstream: `u${j}`,
        counts,
        rejected: 0,
        retries: 0,
        fallbacks: 0,
        slow: 0,
        latency,
      });
    }
  writeSliBuckets(store, seconds);

  const first0 = performance.now();
  const o = buildOverview(store, now);
  const firstMs = performance.now() - first0;
  const polls: number[] = [];
  for (let i = 0; i < POLLS; i++) {
    const p0 = performance.now();
    buildOverview(store, now + i * 1000);
    polls.push(performance.now() - p0);
  }
  polls.sort((a, b) => a - b);
  const pollP50 = polls[Math.floor(POLLS / 2)]!;
  const pollMax = polls[POLLS - 1]!;
  console.log(`seeded ${rows} minute rows in ${seedMs.toFixed(0)} ms`);
  console.log(`overview: ${o.upstreams.length} upstreams, ${o.routes.length} routes`);
  console.log(`first overview.get (cold budget window): ${firstMs.toFixed(1)} ms`);
  console.log(`polled overview.get: p50 ${pollP50.toFixed(1)} ms, max ${pollMax.toFixed(1)} ms`);
  console.log(
    JSON.stringify({
      minuteRows: rows,
      overviewFirstMs: Math.round(firstMs * 10) / 10,
      overviewPollP50Ms: Math.round(pollP50 * 10) / 10,
      overviewPollMaxMs: Math.round(pollMax * 10) / 10,
    }),
  );
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
