import type { InstanceSnapshot } from "@rg/core";
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
import type { Sample } from "../fixtures";

const ok = (s: Sample) => s.status >= 200 && s.status < 300;

function endpoint(state: InstanceSnapshot, upstream: string, id: string) {
  return state.upstreams[upstream]?.endpoints.find((e) => e.id === id);
}

// The primary of a service fails. Requests keep succeeding through the switch (to the other
// endpoint, or to the fallback upstream), and after recovery the endpoint's weight climbs back
// gradually (slow start) instead of taking its full share at once. Requests come from eight
// consumers so that the routes' per-consumer rate limits stay out of the way.
test("failover: endpoint and fallback-upstream switches keep requests succeeding", async () => {
  const stack = await startStack();
  try {
    // 1. Endpoint failover inside the payments upstream: endpoint "a" refuses connections.
    const [portA] = stack.demoPorts.payments ?? [];
    const loadStart = performance.now();
    const payments = runLoad({
      baseUrl: stack.gatewayUrl,
      concurrency: 6,
      maxRequests: 3000,
      maxDurationMs: 8_000,
      ratePerSec: 300,
      request: (i) => ({ path: `/api/payments/${i}`, headers: { "x-api-key": `shop-${i % 8}` } }),
    });
    await expect
      .poll(async () => (await stack.demo.stats("payments")).requests)
      .toBeGreaterThan(100);
    const faultAt = performance.now() - loadStart;
    await stack.demo.set("payments", { down: true }, portA);
    const duringSwitch = await payments;
    const switchSamples = duringSwitch.filter((s) => s.startedAt >= faultAt);
    const endpointRatio = ratio(switchSamples.filter(ok).length, switchSamples.length);

    // Recovery: "a" comes back; its effective weight must climb, not jump.
    await stack.demo.set("payments", { down: false }, portA);
    const weights: number[] = [];
    const recoveredAt = Date.now();
    let fullAt: number | undefined;
    const trickle = runLoad({
      baseUrl: stack.gatewayUrl,
      concurrency: 2,
      maxRequests: 2000,
      maxDurationMs: 20_000,
      ratePerSec: 50,
      request: (i) => ({
        path: `/api/payments/recovery/${i}`,
        headers: { "x-api-key": `shop-${i % 8}` },
      }),
      until: () => fullAt !== undefined,
    });
    await expect
      .poll(
        async () => {
          const a = endpoint(await stack.gatewayState(), "payments", "a");
          if (a && a.healthy && !a.ejected) weights.push(a.effectiveWeight);
          const full = a !== undefined && a.healthy && !a.ejected && a.effectiveWeight >= a.weight;
          if (full) fullAt ??= Date.now();
          return full;
        },
        { timeout: 20_000, intervals: [100] },
      )
      .toBe(true);
    await trickle;
    const intermediate = weights.filter((w) => w > 0 && w < 100);

    // 2. Upstream fallback: catalog's only endpoint fails; catalog-backup answers instead.
    // Unique paths so the stale cache (tried first) has nothing to offer.
    await stack.demo.resetStats("catalog-backup");
    const catalog = runLoad({
      baseUrl: stack.gatewayUrl,
      concurrency: 6,
      maxRequests: 2000,
      maxDurationMs: 8_000,
      ratePerSec: 250,
      request: (i) => ({
        path: `/api/catalog/products/${i}?unique=${i}`,
        headers: { "x-api-key": `shop-${i % 8}` },
      }),
    });
    await expect
      .poll(async () => (await stack.demo.stats("catalog")).requests)
      .toBeGreaterThan(100);
    await stack.demo.set("catalog", { errorRate: 1, errorStatus: 503 });
    const catalogSamples = await catalog;
    const fallbackRatio = ratio(catalogSamples.filter(ok).length, catalogSamples.length);
    const backup = await stack.demo.stats("catalog-backup");

    const before = duringSwitch.filter((s) => s.startedAt < faultAt);
    console.log(
      `payments before the fault: ${before.length} requests, ${JSON.stringify(statusCounts(before))}; after: ${JSON.stringify(statusCounts(switchSamples))}`,
    );
    recordFigures("failover", {
      failoverRequests: switchSamples.length,
      failoverSuccessRatio: round(endpointRatio, 5),
      fallbackUpstreamRequests: catalogSamples.length,
      fallbackUpstreamSuccessRatio: round(fallbackRatio, 5),
      fallbackUpstreamServed: backup.requests - backup.healthChecks,
      weightRampMs: fullAt === undefined ? null : fullAt - recoveredAt,
      weightRampIntermediateSamples: intermediate.length,
    });

    expect(endpointRatio, JSON.stringify(statusCounts(switchSamples))).toBeGreaterThanOrEqual(
      0.995,
    );
    expect(fallbackRatio, JSON.stringify(statusCounts(catalogSamples))).toBeGreaterThanOrEqual(
      0.995,
    );
    expect(backup.requests - backup.healthChecks).toBeGreaterThan(0);
    expect(fullAt).toBeDefined();
    expect(intermediate.length, `weights seen: ${weights.join(",")}`).toBeGreaterThanOrEqual(2);
  } finally {
    await stack.close();
  }
});
