import { describe, expect, it } from "vitest";
import { PipelineHarness, testConfig } from "./testing";

describe("ResilienceRuntime.apply", () => {
  it("swaps pipelines on a config change and keeps breaker state", async () => {
    const cb = { circuitBreaker: { consecutiveFailures: 2, openDurationMs: 10_000 } };
    const h = new PipelineHarness(testConfig({ retry: { maxAttempts: 1 } }, cb));
    h.script = () => h.respond(500);
    await h.run();
    await h.run();
    expect(h.runtime.snapshot().upstreams.api!.breakers[0]!.state).toBe("open");
    const before = h.runtime.pipeline("r");

    h.runtime.apply(testConfig({ retry: { maxAttempts: 2 }, mode: "degraded" }, cb));
    const after = h.runtime.pipeline("r");
    expect(after).not.toBe(before);
    expect(after!.route.retry.maxAttempts).toBe(2);
    expect(h.runtime.snapshot().upstreams.api!.breakers[0]!.state).toBe("open");
    expect(h.runtime.snapshot().routes.r!.mode).toBe("degraded");
    expect(await h.run()).toMatchObject({ type: "rejected", code: "RG_BREAKER_OPEN" });
    expect(h.calls).toHaveLength(2);
  });

  it("lets an in-flight request finish on the pipeline it started with", async () => {
    const h = new PipelineHarness(testConfig());
    let release!: () => void;
    h.script = () =>
      new Promise((resolve) => {
        release = () => resolve(h.respond(200));
      });
    const p = h.start();
    await new Promise((r) => setImmediate(r));
    h.runtime.apply(
      testConfig(
        {},
        {},
        { routes: { other: { match: { pathPrefix: "/o" }, upstream: "backup" } } },
      ),
    );
    release();
    expect((await p).type).toBe("response");
    expect(h.runtime.pipeline("other")).toBeDefined();
  });

  it("removes routes and upstreams that left the config", () => {
    const h = new PipelineHarness(
      testConfig(
        {},
        {},
        { routes: { other: { match: { pathPrefix: "/o" }, upstream: "backup" } } },
      ),
    );
    expect(h.runtime.pipeline("other")).toBeDefined();
    h.runtime.apply(testConfig());
    expect(h.runtime.pipeline("other")).toBeUndefined();
    expect(Object.keys(h.runtime.snapshot().routes)).toEqual(["r"]);
  });

  it("gives a route its own breaker when its scope is route", async () => {
    const h = new PipelineHarness(
      testConfig(
        { retry: { maxAttempts: 1 }, circuitBreaker: { scope: "route", consecutiveFailures: 1 } },
        {},
        { routes: { other: { match: { pathPrefix: "/o" }, upstream: "api" } } },
      ),
    );
    h.script = () => h.respond(500);
    await h.run();
    const snap = h.runtime.snapshot().upstreams.api!.breakers;
    expect(snap.map((b) => [b.name, b.state])).toEqual([
      ["api", "closed"],
      ["r:api", "open"],
    ]);
    // The other route shares the upstream breaker, which stayed closed.
    h.script = () => h.respond(200);
    expect((await h.run({}, "other")).type).toBe("response");
  });

  it("keeps the upstream's breaker settings a route override does not write", async () => {
    const h = new PipelineHarness(
      testConfig(
        { retry: { maxAttempts: 1 }, circuitBreaker: { scope: "route" } },
        { circuitBreaker: { consecutiveFailures: 2, openDurationMs: 30_000 } },
      ),
    );
    h.script = () => h.respond(500);
    await h.run();
    await h.run();
    const own = h.runtime.snapshot().upstreams.api!.breakers.find((b) => b.name === "r:api")!;
    expect(own.state).toBe("open");
    expect(own.thresholds.consecutiveFailures).toBe(2);
    expect(h.eventsOf("breaker.transition")[0]!.reason.openForMs).toBe(30_000);
  });

  it("keeps the upstream's scope: route when a route overrides other breaker settings", async () => {
    const h = new PipelineHarness(
      testConfig(
        { retry: { maxAttempts: 1 }, circuitBreaker: { failureRateThreshold: 40 } },
        { circuitBreaker: { scope: "route", consecutiveFailures: 1 } },
      ),
    );
    h.script = () => h.respond(500);
    await h.run();
    const snap = h.runtime.snapshot().upstreams.api!.breakers;
    expect(snap.map((b) => [b.name, b.state])).toEqual([["r:api", "open"]]);
    expect(snap[0]!.thresholds.failureRateThreshold).toBe(40);
  });

  it("snapshots every upstream with breakers, bulkhead, endpoints and retry budget", () => {
    const h = new PipelineHarness(testConfig());
    const snap = h.runtime.snapshot();
    expect(Object.keys(snap.upstreams).sort()).toEqual(["api", "backup"]);
    const api = snap.upstreams.api!;
    expect(api.breakers).toHaveLength(1);
    expect(api.endpoints.map((e) => e.id).sort()).toEqual(["a", "b"]);
    expect(api.bulkhead.maxConcurrent).toBe(100);
    expect(api.retryBudget).toEqual({ active: 0, retrying: 0, exhausted: 0 });
    expect(snap.routes.r).toEqual({ mode: "normal", rateLimitFactor: 1 });
  });

  it("refuses a config with a dangling upstream reference and keeps serving the last one", async () => {
    const h = new PipelineHarness(testConfig());
    const before = h.runtime.pipeline("r");
    const bad = testConfig({ retry: { maxAttempts: 1 } });
    bad.routes.r!.fallback = { upstream: "missing" };
    expect(() => h.runtime.apply(bad)).toThrow(/unknown upstream 'missing'/);
    // An id named like an Object.prototype member is no upstream either.
    bad.routes.r!.fallback = { upstream: "toString" };
    expect(() => h.runtime.apply(bad)).toThrow(/unknown upstream 'toString'/);
    expect(h.runtime.pipeline("r")).toBe(before);
    expect((await h.run()).type).toBe("response");
  });
});
