import {
  expect,
  ratio,
  recordFigures,
  round,
  runLoad,
  startStack,
  statusCounts,
  test,
} from "../fixtures";

// One consumer floods payments. It gets 429 with Retry-After and RateLimit headers, while
// another consumer at a normal pace keeps succeeding. The default tier is lowered to 20/s so
// that one loopback client surely exceeds it even on two busy shared cores.
test("rate limit: a flooding consumer is limited, another keeps its success rate", async () => {
  const stack = await startStack({
    tweak: (config) => {
      const rateLimit = config.routes.payments!.rateLimit!;
      rateLimit.tiers = { ...rateLimit.tiers, default: { limit: 20, windowMs: 1000 } };
    },
  });
  try {
    const [flood, calm] = await Promise.all([
      runLoad({
        baseUrl: stack.gatewayUrl,
        concurrency: 12,
        maxRequests: 4000,
        maxDurationMs: 6_000,
        request: (i) => ({ path: `/api/payments/flood/${i}`, headers: { "x-api-key": "flooder" } }),
      }),
      runLoad({
        baseUrl: stack.gatewayUrl,
        concurrency: 2,
        maxRequests: 80,
        maxDurationMs: 10_000,
        ratePerSec: 10,
        request: (i) => ({ path: `/api/payments/calm/${i}`, headers: { "x-api-key": "calm" } }),
      }),
    ]);

    const limited = flood.filter((s) => s.status === 429);
    const first = limited[0];
    const calmOk = calm.filter((s) => s.status === 200).length;
    const calmRatio = ratio(calmOk, calm.length);
    const floodRps = flood.length / ((flood.at(-1)?.startedAt ?? 1) / 1000);

    recordFigures("rate-limit", {
      floodRequests: flood.length,
      floodRps: round(floodRps, 1),
      floodLimitedRatio: round(ratio(limited.length, flood.length), 4),
      otherConsumerRequests: calm.length,
      otherConsumerSuccessRatio: round(calmRatio, 5),
    });

    expect(limited.length, JSON.stringify(statusCounts(flood))).toBeGreaterThan(0);
    expect(first?.headers["retry-after"]).toMatch(/^\d+$/);
    expect(first?.headers["ratelimit-policy"] ?? first?.headers["ratelimit"]).toBeDefined();
    expect(limited.every((s) => s.headers["retry-after"] !== undefined)).toBe(true);
    expect(calmRatio, JSON.stringify(statusCounts(calm))).toBeGreaterThanOrEqual(0.999);
  } finally {
    await stack.close();
  }
});
