/**
 * What the store costs the request path: the gateway with 100 routes under paced load
 * spread over all of them, its telemetry written from the writer thread (default) or
 * in-thread on the event loop, each in two situations: the store to itself, and another
 * process (as the dashboard, when operators act) holding the write lock for 50 ms every
 * 500 ms. Each run lasts past a writer upkeep (every 10 s); runs alternate. Reports the
 * event loop's delay inside the gateway (monitorEventLoopDelay), the client's latency, the
 * telemetry dropped and the gateway's RSS. Last line: one JSON object.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureTools, median, rssMb, startChild, wrkPaced } from "./proc";

const ROUTES = 100;
const RATE = Number(process.env.BENCH_RATE ?? 2000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 14);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = 40;

interface Run {
  loop: { p50: number; p99: number; p999: number; max: number };
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  rps: number;
  rssMb: number;
  /** Telemetry the writer dropped (events and SLI buckets, any reason). */
  dropped: number;
}

ensureTools();
const dir = mkdtempSync(join(tmpdir(), "rg-bench-stall-"));
// Spread round-robin over every route.
const request = `local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/r" .. (n % ${ROUTES}) .. "/item")
end`;
const paced = (url: string, seconds: number) =>
  wrkPaced(url, { rate: RATE, seconds, connections: CONNECTIONS, request });

type Mode = "thread" | "in_thread";
type Scenario = "quiet" | "contended";

const upstream = await startChild("children/upstream.ts", []);
const runs: Record<`${Scenario}/${Mode}`, Run[]> = {
  "quiet/thread": [],
  "quiet/in_thread": [],
  "contended/thread": [],
  "contended/in_thread": [],
};
let n = 0;
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const scenario of ["quiet", "contended"] as const) {
      for (const mode of round % 2 === 0
        ? (["thread", "in_thread"] as const)
        : (["in_thread", "thread"] as const)) {
        const storePath = join(dir, `run-${++n}.db`);
        const gw = await startChild("children/gateway-routes.ts", [
          `http://127.0.0.1:${upstream.port}`,
          String(ROUTES),
          mode,
          storePath,
        ]);
        const holder =
          scenario === "contended"
            ? await startChild("children/lock-holder.ts", [storePath, "50", "500"])
            : undefined;
        let out = "";
        gw.proc.stdout!.on("data", (c: Buffer) => (out += c.toString()));
        const url = `http://127.0.0.1:${gw.port}/`;
        // Warm-up: JIT, pools, every route's state, the writer's first flushes.
        paced(url, 2);
        process.kill(gw.pid, "SIGUSR2");
        const r = paced(url, SECONDS);
        const rss = rssMb(gw.pid);
        await holder?.stop();
        await gw.stop();
        const m = /LOOP (\{.*\})/.exec(out);
        if (!m) throw new Error(`no event-loop figures from the ${mode} gateway`);
        const loop = JSON.parse(m[1]!) as Run["loop"] & {
          telemetry: { dropped: Record<string, number> };
        };
        const run: Run = {
          loop,
          p50Ms: r.p50Ms,
          p99Ms: r.p99Ms,
          maxMs: r.maxMs,
          rps: r.rps,
          rssMb: rss,
          dropped: Object.values(loop.telemetry.dropped).reduce((a, b) => a + b, 0),
        };
        runs[`${scenario}/${mode}`].push(run);
        console.log(
          `round ${round + 1} ${scenario.padEnd(9)} ${mode.padEnd(9)}: loop delay p99 ${run.loop.p99} ms, p99.9 ${run.loop.p999} ms, max ${run.loop.max} ms; ` +
            `client p50 ${run.p50Ms.toFixed(3)} ms, p99 ${run.p99Ms.toFixed(3)} ms, max ${run.maxMs.toFixed(1)} ms at ${Math.round(run.rps)} req/s; ` +
            `telemetry dropped ${run.dropped}; RSS ${rss.toFixed(1)} MB`,
        );
      }
    }
  }
} finally {
  await upstream.stop();
  rmSync(dir, { recursive: true, force: true });
}

const fig = (xs: Run[], f: (r: Run) => number) => Math.round(median(xs.map(f)) * 1000) / 1000;
const summary = (xs: Run[]) => ({
  loopP99Ms: fig(xs, (r) => r.loop.p99),
  loopMaxMs: fig(xs, (r) => r.loop.max),
  clientP99Ms: fig(xs, (r) => r.p99Ms),
  clientMaxMs: fig(xs, (r) => r.maxMs),
  dropped: fig(xs, (r) => r.dropped),
  rssMb: fig(xs, (r) => r.rssMb),
});
const qt = summary(runs["quiet/thread"]);
const qi = summary(runs["quiet/in_thread"]);
const ct = summary(runs["contended/thread"]);
const ci = summary(runs["contended/in_thread"]);
console.log(
  `\n${ROUTES} routes at ${RATE} req/s, median of ${ROUNDS} (writer thread vs in-thread):`,
);
for (const [label, t, i] of [
  ["store to itself", qt, qi],
  ["lock held 50 ms every 500 ms", ct, ci],
] as const)
  console.log(
    `  ${label}: event-loop delay p99 ${t.loopP99Ms} vs ${i.loopP99Ms} ms, max ${t.loopMaxMs} vs ${i.loopMaxMs} ms; ` +
      `client p99 ${t.clientP99Ms} vs ${i.clientP99Ms} ms, max ${t.clientMaxMs} vs ${i.clientMaxMs} ms; telemetry dropped ${t.dropped} vs ${i.dropped}`,
  );
console.log(`  RSS ${qt.rssMb} vs ${qi.rssMb} MB`);
const flat = (prefix: string, s: ReturnType<typeof summary>) =>
  Object.fromEntries(
    Object.entries(s).map(([k, v]) => [prefix + k[0]!.toUpperCase() + k.slice(1), v]),
  );
console.log(
  JSON.stringify({
    routes: ROUTES,
    rate: RATE,
    ...flat("quietThread", qt),
    ...flat("quietInThread", qi),
    ...flat("contendedThread", ct),
    ...flat("contendedInThread", ci),
  }),
);
