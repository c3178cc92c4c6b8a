import { openStore, queryEvents } from "@rg/db";
import { breakerOf } from "../fixtures/gateway-state";
import {
  expect,
  percentile,
  ratio,
  recordFigures,
  round,
  runLoad,
  startStack,
  statusCounts,
  test,
} from "../fixtures";

// A cacheable service goes fully down. Readers keep getting 200 from the gateway's stale
// cache, nobody waits past the route's total timeout, the breaker opens fast and closes again
// through half-open once the service is back.
test("outage with cache: stale responses keep reads up; breaker opens and recovers", async () => {
  const stack = await startStack();
  try {
    const totalMs = 3000;
    const items = 20;
    const get = (i: number) => ({ path: `/api/inventory/items/${i % items}` });

    // Warm the cache with every item.
    const warm = await runLoad({
      baseUrl: stack.gatewayUrl,
      concurrency: 4,
      maxRequests: items,
      maxDurationMs: 10_000,
      request: get,
    });
    expect(statusCounts(warm)).toEqual({ "200": items });

    const faultAt = Date.now();
    await stack.demo.set("inventory", { down: true });

    // Fresh cache entries (max-age=1) shield the service for up to a second, so the breaker's
    // clock starts when the first request that met the failure (answered stale) was sent.
    let openedAt: number | undefined;
    const watch = (async () => {
      const deadline = Date.now() + 15_000;
      while (openedAt === undefined && Date.now() < deadline) {
        const breaker = breakerOf(await stack.gatewayState(), "inventory");
        if (breaker?.state === "open") openedAt = breaker.since;
        else await new Promise((r) => setTimeout(r, 10));
      }
    })();
    // Keep reading until the outage has really been met: at least 2000 requests, the breaker
    // open, and 200 more requests answered while it is open. (On a fast machine 2000 requests
    // can all fall inside the cache's freshness second and never touch the dead service.)
    const outageStart = Date.now();
    let sent = 0;
    let sentAtOpen: number | undefined;
    const outage = await runLoad({
      baseUrl: stack.gatewayUrl,
      concurrency: 8,
      maxRequests: 20_000,
      maxDurationMs: 15_000,
      request: (i) => {
        sent = i + 1;
        return get(i);
      },
      until: () => {
        if (openedAt === undefined) return false;
        sentAtOpen ??= sent;
        return sent >= 2000 && sent - sentAtOpen >= 200;
      },
    });
    await watch;

    const served = outage.filter(
      (s) => s.status === 200 && s.headers["cache-status"] !== undefined,
    );
    const staleRatio = ratio(served.length, outage.length);
    const maxLatency = Math.max(...outage.map((s) => s.latencyMs));
    const firstStale = outage.find((s) => String(s.headers["cache-status"]).includes("stale"));
    const firstFailureAt = firstStale ? outageStart + firstStale.startedAt : faultAt;
    const breakerOpenMs = openedAt === undefined ? null : Math.round(openedAt - firstFailureAt);

    // The service comes back: keep reading until the breaker has closed again.
    await stack.demo.set("inventory", {});
    const recoveredFrom = Date.now();
    let closedAt: number | undefined;
    // While the breaker is open the route answers from its static fallback in about a
    // millisecond, so the load is bounded by time (and a generous count), not by a count a
    // fast machine uses up before the open time ends: the breaker only moves to half-open
    // when a call arrives.
    const recoveryLoad = runLoad({
      baseUrl: stack.gatewayUrl,
      concurrency: 2,
      maxRequests: 100_000,
      maxDurationMs: 20_000,
      request: (i) => ({ path: `/api/inventory/fresh/${i}` }),
      until: () => closedAt !== undefined,
    });
    await expect
      .poll(
        async () => {
          const breaker = breakerOf(await stack.gatewayState(), "inventory");
          if (breaker?.state === "closed") closedAt ??= Date.now();
          return breaker?.state;
        },
        { timeout: 15_000 },
      )
      .toBe("closed");
    await recoveryLoad;

    recordFigures("outage-with-cache", {
      outageRequests: outage.length,
      outageStaleServedRatio: round(staleRatio, 5),
      outageMaxLatencyMs: round(maxLatency, 1),
      outageP99Ms: round(
        percentile(
          outage.map((s) => s.latencyMs),
          99,
        ),
        2,
      ),
      breakerOpenMs,
      breakerOpenAfterFaultMs: openedAt === undefined ? null : openedAt - faultAt,
      breakerRecoveryMs: closedAt === undefined ? null : closedAt - recoveredFrom,
    });

    // The store's event log must show open → half_open → closed.
    const store = openStore(stack.dbPath);
    let transitions: string[] = [];
    try {
      await expect
        .poll(
          () => {
            transitions = queryEvents(store, {
              types: ["breaker.transition"],
              upstream: "inventory",
              limit: 50,
            })
              .reverse()
              .map((e) => (e.event.type === "breaker.transition" ? e.event.to : ""));
            return transitions.includes("half_open") && transitions.at(-1) === "closed";
          },
          { timeout: 10_000, message: "breaker transitions in the store" },
        )
        .toBe(true);
    } finally {
      store.close();
    }
    expect(statusCounts(outage)).toMatchObject({ "200": expect.any(Number) });
    expect(staleRatio, JSON.stringify(statusCounts(outage))).toBeGreaterThanOrEqual(0.999);
    expect(maxLatency).toBeLessThanOrEqual(totalMs + 250);
    expect(breakerOpenMs).not.toBeNull();
    expect(breakerOpenMs!).toBeLessThanOrEqual(1000);
    const opened = transitions.indexOf("open");
    expect(opened).toBeGreaterThanOrEqual(0);
    expect(transitions.indexOf("half_open", opened)).toBeGreaterThan(opened);
  } finally {
    await stack.close();
  }
});
