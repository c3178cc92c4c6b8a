/**
 * Failure detection: under a steady 50 req/s, the upstream switches to 100% errors; how long
 * until the breaker opens, and how long after the upstream heals until it closes again.
 * Uses the demo upstream and the example config's payments breaker (count window 50, minimum
 * 10 calls, 50% failure rate, 10 consecutive failures, open 3 s). Last line: one JSON object.
 */
import http from "node:http";
import pino from "pino";
import type { ResilienceEvent } from "@rg/core";
import { startDemoUpstream } from "../src/demo-upstream";
import { startGateway } from "../src/gateway";

const RATE = 50;
const LIMIT_MS = 20_000;

const demo = await startDemoUpstream({ services: { payments: { ports: [0] } } });
const gw = await startGateway({
  config: {
    upstreams: {
      payments: {
        endpoints: { a: { url: `http://127.0.0.1:${demo.services.payments!.ports[0]}` } },
        circuitBreaker: {
          window: { type: "count", size: 50 },
          minimumCalls: 10,
          failureRateThreshold: 50,
          consecutiveFailures: 10,
          openDurationMs: 3000,
        },
        outlierDetection: { enabled: false },
      },
    },
    routes: {
      payments: {
        match: { pathPrefix: "/api/payments" },
        upstream: "payments",
        retry: { maxAttempts: 1 },
        timeouts: { perTryMs: 2000, totalMs: 5000 },
      },
    },
  },
  port: 0,
  adminPort: 0,
  logger: pino({ level: "silent" }),
});

const transitions: { at: number; to: string; trigger: string }[] = [];
gw.bus.on((e: ResilienceEvent) => {
  if (e.type === "breaker.transition") {
    transitions.push({ at: performance.now(), to: e.to, trigger: e.reason.trigger });
  }
});

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const statuses: number[] = [];
const timer = setInterval(() => {
  const req = http.get(`${gw.url}/api/payments/charge`, { agent }, (res) => {
    res.resume();
    statuses.push(res.statusCode ?? 0);
  });
  req.on("error", () => statuses.push(0));
}, 1000 / RATE);

async function waitFor(cond: () => boolean, ms = LIMIT_MS): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

try {
  await new Promise((r) => setTimeout(r, 1000));
  const switchedAt = performance.now();
  await demo.setBehaviour("payments", { errorRate: 1 });
  const opened = await waitFor(() =>
    transitions.some((t) => t.to === "open" && t.at >= switchedAt),
  );
  const openT = transitions.find((t) => t.to === "open" && t.at >= switchedAt);
  const detectMs = opened && openT ? openT.at - switchedAt : NaN;
  console.log(
    `breaker open ${detectMs.toFixed(0)} ms after the switch (trigger ${openT?.trigger ?? "none"})`,
  );

  const healedAt = performance.now();
  await demo.setBehaviour("payments", {});
  const closed = await waitFor(() =>
    transitions.some((t) => t.to === "closed" && t.at >= healedAt),
  );
  const closeT = transitions.find((t) => t.to === "closed" && t.at >= healedAt);
  const recoverMs = closed && closeT ? closeT.at - healedAt : NaN;
  console.log(
    `breaker closed ${recoverMs.toFixed(0)} ms after the upstream healed (open 3000 ms, then probes)`,
  );
  const rejected = statuses.filter((s) => s === 503).length;
  console.log(`requests sent ${statuses.length}, answered 503 by the open breaker ${rejected}`);
  console.log(`target: open ≤ 1000 ms`);
  console.log(
    JSON.stringify({
      breakerOpenMs: Math.round(detectMs),
      breakerRecoveredMs: Math.round(recoverMs),
      rps: RATE,
      requests: statuses.length,
    }),
  );
} finally {
  clearInterval(timer);
  agent.destroy();
  await gw.close();
  await demo.close();
}
