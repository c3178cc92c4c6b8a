/**
 * The whole pipeline's success path with every policy on: rate limit, deadline, retry,
 * circuit breaker, bulkhead, endpoint choice, per-try timeout, SLI recording and an event bus
 * with a listener. Real clock and randomness; the `call` resolves at once, so the figure is
 * the pipeline's own cost per request. Prints per-round figures, then one JSON line.
 */
import { EventBus, configSchema, mathRandom, systemClock, classify } from "../src/index";
import { ResilienceRuntime } from "../src/pipeline/runtime";
import type { AttemptResult, PipelineRequest } from "../src/pipeline/types";

const WARMUP = 50_000;
const ITERATIONS = 200_000;
const ROUNDS = 7;
const ROUND_TIME_LIMIT_MS = 10_000;

function buildConfig(perConsumerMaxConcurrent: number) {
  return configSchema.parse({
    upstreams: {
      api: {
        endpoints: {
          a: { url: "http://127.0.0.1:1001", weight: 100 },
          b: { url: "http://127.0.0.1:1002", weight: 50 },
        },
        circuitBreaker: { window: { type: "count", size: 100 }, consecutiveFailures: 10 },
        bulkhead: { maxConcurrent: 64, maxQueue: 32, perConsumerMaxConcurrent },
        outlierDetection: { consecutive5xx: 5 },
      },
    },
    routes: {
      r: {
        match: { pathPrefix: "/" },
        upstream: "api",
        timeouts: { perTryMs: 2000, totalMs: 5000 },
        retry: { maxAttempts: 3 },
        rateLimit: { tiers: { default: { limit: 10_000_000, windowMs: 1000 } } },
        slo: { latencyThresholdMs: 300 },
      },
    },
  });
}

let eventCount = 0;
const result: AttemptResult<number> = {
  outcome: classify({ status: 200, durationMs: 1 }),
  response: 1,
};
const resolved = Promise.resolve(result);
const call = () => resolved;
const discard = () => {};
const req: PipelineRequest = {
  method: "GET",
  consumerKey: "bench",
  tier: "default",
  retryable: true,
  hasStale: false,
};

function scenario(perConsumerMaxConcurrent: number) {
  const events = new EventBus();
  events.on(() => {
    eventCount++;
  });
  const runtime = new ResilienceRuntime({ clock: systemClock, random: mathRandom, events });
  runtime.apply(buildConfig(perConsumerMaxConcurrent));
  return { runtime, pipeline: runtime.pipeline("r")! };
}

type Scenario = ReturnType<typeof scenario>;

async function round(
  s: Scenario,
  n: number,
): Promise<{ nsPerOp: number; cpuNsPerOp: number; ops: number }> {
  const deadline = performance.now() + ROUND_TIME_LIMIT_MS;
  const pipeline = s.pipeline;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let i = 0;
  for (; i < n; i++) {
    const r = await pipeline.execute(req, call, discard);
    if (r.type !== "response") throw new Error(`unexpected ${r.type}`);
    if ((i & 4095) === 0 && performance.now() > deadline) break;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  const ops = Math.max(1, i);
  return { nsPerOp: ns / ops, cpuNsPerOp: ((cpu.user + cpu.system) * 1000) / ops, ops: i };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  // Every policy at its defaults, and the same with a per-consumer bulkhead cap (off by
  // default), interleaved round by round so drift on a shared machine hits both alike.
  const base = scenario(0);
  const capped = scenario(16);
  await round(base, WARMUP);
  await round(capped, WARMUP);
  const a: number[] = [];
  const aCpu: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const x = await round(base, ITERATIONS);
    const y = await round(capped, ITERATIONS);
    a.push(x.nsPerOp);
    aCpu.push(x.cpuNsPerOp);
    b.push(y.nsPerOp);
    console.log(
      `round ${r + 1}: ${x.nsPerOp.toFixed(0)} ns/op wall, ${x.cpuNsPerOp.toFixed(0)} ns/op CPU ` +
        `(${x.ops} requests); ` +
        `with per-consumer cap ${y.nsPerOp.toFixed(0)} ns/op (${y.ops})`,
    );
  }
  const w = base.runtime.sli.window("r", "api", "1m");
  const m = median(a);
  console.log(
    `median ${m.toFixed(0)} ns/op (min ${Math.min(...a).toFixed(0)}, max ${Math.max(...a).toFixed(0)}); ` +
      `CPU ${median(aCpu).toFixed(0)} ns/op; with per-consumer cap ${median(b).toFixed(0)} ns/op; ` +
      `SLI saw ${w.total} requests in the last minute; ${eventCount} events`,
  );
  console.log(
    JSON.stringify({
      pipelineNsPerOp: Math.round(m),
      minNsPerOp: Math.round(Math.min(...a)),
      maxNsPerOp: Math.round(Math.max(...a)),
      cpuNsPerOp: Math.round(median(aCpu)),
      perConsumerCapNsPerOp: Math.round(median(b)),
      rounds: ROUNDS,
      iterationsPerRound: ITERATIONS,
      targetNsPerOp: 3000,
    }),
  );
}

void main();
