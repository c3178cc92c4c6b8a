/** The gateway with every policy on, in its own process, for the proxy benchmark. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { startGateway } from "../../src/gateway";

const target = process.argv[2]!;
const dir = mkdtempSync(join(tmpdir(), "rg-bench-gw-"));
const gw = await startGateway({
  config: {
    gateway: { limits: { keepAliveTimeoutMs: 65_000 } },
    upstreams: {
      bench: {
        endpoints: { a: { url: target } },
        maxSockets: 256,
        circuitBreaker: { enabled: true, minimumCalls: 20, consecutiveFailures: 10 },
        bulkhead: { maxConcurrent: 1000, maxQueue: 100 },
        outlierDetection: { enabled: true, consecutive5xx: 5 },
        retryBudget: { percent: 20, minConcurrent: 3 },
      },
    },
    routes: {
      bench: {
        match: { pathPrefix: "/" },
        upstream: "bench",
        timeouts: { connectMs: 1000, perTryMs: 5000, totalMs: 10_000 },
        retry: { maxAttempts: 3 },
        rateLimit: { tiers: { default: { limit: 10_000_000, windowMs: 1000 } } },
        cache: { enabled: true },
        websocket: { enabled: true, maxConnections: 100_000 },
        slo: { successTarget: 0.999 },
      },
    },
  },
  storePath: join(dir, "gateway.db"),
  instanceId: "bench",
  port: 0,
  adminPort: 0,
  logger: pino({ level: "warn" }),
});
process.stdout.write(`READY ${gw.port} ${process.pid}\n`);
process.on("SIGTERM", () => {
  void gw.close().then(() => process.exit(0));
});
