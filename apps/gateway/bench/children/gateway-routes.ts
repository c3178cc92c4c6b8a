/**
 * The gateway with `routes` routes (/r0/…, /r1/…) on one upstream, for the store-stall
 * benchmark. Arguments: target URL, number of routes, writer ("thread" or "in_thread"), and
 * optionally the store's path (default: a new file). On SIGTERM it prints the event loop's
 * delay (monitorEventLoopDelay, 1 ms resolution) since start-up, or since the last SIGUSR2,
 * and the writer's figures as `LOOP <json>` before exiting.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import pino from "pino";
import { startGateway } from "../../src/gateway";

const [target, routesArg, writer, storeArg] = process.argv.slice(2);
const n = Number(routesArg ?? 100);
const routes: Record<string, unknown> = {};
for (let i = 0; i < n; i++)
  routes[`r${i}`] = {
    match: { pathPrefix: `/r${i}/` },
    upstream: "bench",
    retry: { maxAttempts: 2 },
    slo: { successTarget: 0.999 },
  };
const dir = mkdtempSync(join(tmpdir(), "rg-bench-gw-"));
const gw = await startGateway({
  config: {
    gateway: { limits: { keepAliveTimeoutMs: 65_000 } },
    upstreams: {
      bench: {
        endpoints: { a: { url: target! } },
        maxSockets: 256,
        circuitBreaker: { enabled: true, minimumCalls: 20 },
      },
    },
    routes,
  },
  storePath: storeArg ?? join(dir, "gateway.db"),
  instanceId: "bench",
  port: 0,
  adminPort: 0,
  logger: pino({ level: "warn" }),
  writerThread: writer !== "in_thread",
});
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
process.stdout.write(`READY ${gw.port} ${process.pid}\n`);
// After the bench's warm-up: count from here.
process.on("SIGUSR2", () => loop.reset());
process.on("SIGTERM", () => {
  loop.disable();
  const ms = (ns: number) => Math.round(ns / 1e3) / 1e3;
  process.stdout.write(
    `LOOP ${JSON.stringify({
      p50: ms(loop.percentile(50)),
      p99: ms(loop.percentile(99)),
      p999: ms(loop.percentile(99.9)),
      max: ms(loop.max),
      telemetry: gw.snapshot().telemetry,
    })}\n`,
    () => void gw.close().then(() => process.exit(0)),
  );
});
