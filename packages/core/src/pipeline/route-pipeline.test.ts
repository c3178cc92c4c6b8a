import { describe, expect, it } from "vitest";
import { SequenceRandom } from "../testing/seeded-random";
import { PipelineHarness, testConfig } from "./testing";

describe("RoutePipeline: success and retries", () => {
  it("passes a success through after one attempt and feeds breaker, endpoints and SLI", async () => {
    const h = new PipelineHarness(testConfig({ timeouts: { perTryMs: 300, totalMs: 1000 } }));
    const res = await h.run();
    expect(res.type).toBe("response");
    if (res.type !== "response") return;
    expect(res.response.status).toBe(200);
    expect(res.attempts).toBe(1);
    expect(res.upstream).toBe("api");
    expect(["a", "b"]).toContain(res.endpoint);
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0]!.timeoutMs).toBe(300);
    expect(h.calls[0]!.deadlineRemainingMs).toBe(1000);
    expect(h.calls[0]!.signal.aborted).toBe(false);
    // The per-try timeout was cancelled on settle: when its time comes, nothing aborts.
    h.clock.advance(300);
    expect(h.calls[0]!.signal.aborted).toBe(false);
    expect(h.clock.pendingTimers).toBe(0);

    const breaker = h.runtime.snapshot().upstreams.api!.breakers[0]!;
    expect(breaker.window.calls).toBe(1);
    const w = h.runtime.sli.window("r", "api", "1m");
    expect(w.total).toBe(1);
    expect(w.byOutcome.success).toBe(1);
  });

  it("retries a 5xx only when the request is retryable", async () => {
    const h = new PipelineHarness(testConfig({ retry: { maxAttempts: 3, baseDelayMs: 10 } }));
    h.script = () => h.respond(502);

    const once = await h.run({ retryable: false, method: "POST" });
    expect(h.calls).toHaveLength(1);
    expect(once.type).toBe("response"); // the 502 passes through
    if (once.type === "response") expect(once.outcome.kind).toBe("http_5xx");

    h.calls.length = 0;
    const thrice = await h.run({ retryable: true });
    expect(h.calls).toHaveLength(3);
    expect(thrice.type).toBe("response");
    if (thrice.type !== "response") return;
    expect(thrice.attempts).toBe(3);
    // The two losing responses were discarded, the last one passed through.
    expect(h.discarded.map((r) => r.n)).toEqual([2, 3]);
    expect(thrice.response.n).toBe(4);
    // The retry went to the endpoint not tried yet.
    expect(h.calls[1]!.endpoint.id).not.toBe(h.calls[0]!.endpoint.id);
    expect(h.eventsOf("retry.scheduled").map((e) => e.attempt)).toEqual([2, 3]);

    // SLI: one entry per request, the retried one flagged.
    const w = h.runtime.sli.window("r", "api", "1m");
    expect(w.total).toBe(2);
    expect(w.byOutcome.http_5xx).toBe(2);
    expect(w.retries).toBe(1);
  });

  it("does not retry client errors", async () => {
    const h = new PipelineHarness(testConfig());
    h.script = () => h.respond(404);
    const res = await h.run();
    expect(h.calls).toHaveLength(1);
    expect(res.type === "response" && res.outcome.kind).toBe("client_error");
  });

  it("waits the upstream's Retry-After before the next attempt", async () => {
    const h = new PipelineHarness(testConfig({ retry: { maxAttempts: 2 } }));
    let first = true;
    h.script = () => {
      if (first) {
        first = false;
        return h.respond(503, "2");
      }
      return h.respond(200);
    };
    const res = await h.run({}, "r", 1);
    expect(res.type === "response" && res.response.status).toBe(200);
    expect(h.calls.map((c) => c.at)).toEqual([0, 2000]);
    expect(h.eventsOf("retry.scheduled")[0]!.delayMs).toBe(2000);
  });

  it("stops retrying at the deadline and shortens the last attempt to fit", async () => {
    const h = new PipelineHarness(
      testConfig({
        timeouts: { perTryMs: 400, totalMs: 1000 },
        retry: { maxAttempts: 10, baseDelayMs: 0 },
      }),
    );
    h.script = (a) => h.hang(a);
    const res = await h.run({}, "r", 1);
    expect(h.calls.map((c) => [c.at, c.timeoutMs])).toEqual([
      [0, 400],
      [400, 400],
      [800, 200],
    ]);
    expect(res).toMatchObject({ type: "rejected", code: "RG_DEADLINE_EXCEEDED", attempts: 3 });
    expect(h.eventsOf("deadline.exceeded")).toHaveLength(1);
    expect(h.eventsOf("deadline.exceeded")[0]!.budgetMs).toBe(1000);
  });

  it("answers a per-try timeout without retries with RG_UPSTREAM_TIMEOUT", async () => {
    const h = new PipelineHarness(testConfig({ timeouts: { perTryMs: 250, totalMs: 5000 } }));
    h.script = (a) => h.hang(a);
    const res = await h.run({ retryable: false }, "r", 1);
    expect(res).toMatchObject({ type: "rejected", code: "RG_UPSTREAM_TIMEOUT", attempts: 1 });
    expect(h.calls[0]!.signal.aborted).toBe(true);
    expect(h.runtime.sli.window("r", "api", "1m").byOutcome.timeout).toBe(1);
  });

  it("turns a thrown connect error into RG_UPSTREAM_UNAVAILABLE", async () => {
    const h = new PipelineHarness(testConfig({ retry: { maxAttempts: 1 } }));
    h.script = () => {
      throw Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
    };
    const res = await h.run();
    expect(res).toMatchObject({
      type: "rejected",
      code: "RG_UPSTREAM_UNAVAILABLE",
      lastOutcome: { kind: "connect_error", errorCode: "ECONNREFUSED" },
    });
  });

  it("answers RG_NO_HEALTHY_ENDPOINT when no endpoint can take traffic", async () => {
    const h = new PipelineHarness(
      testConfig({}, { endpoints: { a: { url: "http://127.0.0.1:1001", weight: 0 } } }),
    );
    const res = await h.run();
    expect(res).toMatchObject({ type: "rejected", code: "RG_NO_HEALTHY_ENDPOINT", attempts: 0 });
    expect(h.calls).toHaveLength(0);
  });

  it("lets the retry budget cap attempts when every attempt fails", async () => {
    // 100 concurrent requests, every attempt a 503, up to 3 attempts each. Without a budget
    // that is 300 attempts; with Envoy's 20% / 3 the retries in flight stay within 20% of
    // the requests in flight.
    async function attemptsWith(percent: number): Promise<number> {
      const h = new PipelineHarness(
        testConfig(
          { retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 } },
          { circuitBreaker: { enabled: false }, retryBudget: { percent, minConcurrent: 3 } },
        ),
      );
      h.script = () => h.respond(503);
      const all = Promise.all(Array.from({ length: 100 }, () => h.start()));
      await h.settle(all, 1);
      return h.calls.length;
    }
    const capped = await attemptsWith(20);
    const uncapped = await attemptsWith(100);
    expect(uncapped).toBe(300);
    expect(capped).toBeGreaterThan(100);
    expect(capped / 100).toBeLessThanOrEqual(1.3);
  });
});

describe("RoutePipeline: circuit breaker", () => {
  const breakerRoute = { retry: { maxAttempts: 1 } };
  const breaker = {
    circuitBreaker: {
      window: { type: "count", size: 10 },
      minimumCalls: 4,
      failureRateThreshold: 50,
      openDurationMs: 5000,
      halfOpenMaxProbes: 1,
      halfOpenSuccessesToClose: 2,
    },
  };

  async function tripped() {
    const h = new PipelineHarness(testConfig(breakerRoute, breaker));
    h.script = () => h.respond(500);
    for (let i = 0; i < 4; i++) await h.run();
    return h;
  }

  it("opens on the failure rate and then rejects without calling the upstream", async () => {
    const h = await tripped();
    expect(h.calls).toHaveLength(4);
    expect(h.eventsOf("breaker.transition").map((e) => e.to)).toEqual(["open"]);
    const res = await h.start();
    expect(res).toMatchObject({ type: "rejected", code: "RG_BREAKER_OPEN", retryAfterMs: 5000 });
    expect(h.calls).toHaveLength(4);
    h.clock.advance(1200);
    const later = await h.start();
    expect(later).toMatchObject({ code: "RG_BREAKER_OPEN", retryAfterMs: 3800 });
    // Rejections count as refused requests in the SLI.
    expect(h.runtime.sli.window("r", "api", "1m").rejected).toBe(2);
  });

  it("does not retry against a breaker that opened", async () => {
    const h = new PipelineHarness(
      testConfig(
        { retry: { maxAttempts: 5, baseDelayMs: 1 } },
        {
          circuitBreaker: { consecutiveFailures: 2, openDurationMs: 5000 },
        },
      ),
    );
    h.script = () => h.respond(500);
    const res = await h.run();
    // Attempt 2 is the second consecutive failure: the breaker opens and retrying ends.
    expect(h.calls).toHaveLength(2);
    expect(res.type === "response" && res.outcome.kind).toBe("http_5xx");
  });

  it("admits probes after the open time and closes on their success", async () => {
    const h = await tripped();
    h.script = () => h.respond(200);
    h.clock.advance(4999);
    expect(await h.start()).toMatchObject({ code: "RG_BREAKER_OPEN", retryAfterMs: 1 });
    h.clock.advance(1);

    // One probe at a time: a concurrent request is shed while the probe is in flight.
    let release!: () => void;
    h.script = () =>
      new Promise((resolve) => {
        release = () => resolve(h.respond(200));
      });
    const probe = h.start();
    await new Promise((r) => setImmediate(r));
    expect(await h.start()).toMatchObject({ code: "RG_BREAKER_OPEN", retryAfterMs: 0 });
    release();
    expect((await probe).type).toBe("response");

    h.script = () => h.respond(200);
    expect((await h.run()).type).toBe("response");
    expect(h.eventsOf("breaker.transition").map((e) => e.to)).toEqual([
      "open",
      "half_open",
      "closed",
    ]);
  });
});

describe("RoutePipeline: bulkhead", () => {
  it("rejects with RG_BULKHEAD_FULL when the slots and the queue are taken", async () => {
    const h = new PipelineHarness(testConfig({}, { bulkhead: { maxConcurrent: 1, maxQueue: 0 } }));
    h.script = (a) => h.hang(a);
    const first = h.start();
    await new Promise((r) => setImmediate(r));
    const second = await h.start();
    expect(second).toMatchObject({ type: "rejected", code: "RG_BULKHEAD_FULL", attempts: 0 });
    expect(h.calls).toHaveLength(1);
    // The refused call gave its breaker permit back: only the first one is counted.
    await h.settle(first, 100);
    expect(h.runtime.snapshot().upstreams.api!.bulkhead.inFlight).toBe(0);
  });
});

describe("RoutePipeline: bulkhead queue and deadline", () => {
  it("waits in the queue no longer than the deadline and answers RG_DEADLINE_EXCEEDED", async () => {
    const h = new PipelineHarness(
      testConfig(
        { timeouts: { perTryMs: 300, totalMs: 500 } },
        { bulkhead: { maxConcurrent: 1, maxQueue: 10, queueTimeoutMs: 5000 } },
      ),
    );
    // Another route's request holds the only slot.
    const held = h.runtime.upstream("api")!.bulkhead.acquire("other");
    expect(held).toMatchObject({ ok: true });
    let doneAt = -1;
    const res = await h.settle(
      h.start().then((r) => ((doneAt = h.clock.now()), r)),
      10,
    );
    expect(doneAt).toBe(500);
    expect(res).toMatchObject({ type: "rejected", code: "RG_DEADLINE_EXCEEDED", attempts: 0 });
    expect(h.calls).toHaveLength(0);
    expect(h.eventsOf("deadline.exceeded")).toHaveLength(1);
    expect(h.eventsOf("bulkhead.rejected")).toHaveLength(0);
    expect(h.runtime.snapshot().upstreams.api!.bulkhead.queued).toBe(0);
  });
});

describe("RoutePipeline: fallbacks", () => {
  it("tries the fallback upstream once when the primary fails", async () => {
    const h = new PipelineHarness(
      testConfig({ retry: { maxAttempts: 2, baseDelayMs: 1 }, fallback: { upstream: "backup" } }),
    );
    h.script = (a) => (a.upstream === "api" ? h.respond(503) : h.respond(200));
    const res = await h.run();
    expect(h.calls.map((c) => c.upstream)).toEqual(["api", "api", "backup"]);
    expect(res).toMatchObject({
      type: "response",
      upstream: "backup",
      endpoint: "m",
      fromFallback: true,
      attempts: 3,
    });
    expect(h.discarded).toHaveLength(2);
    expect(h.eventsOf("fallback.served")).toMatchObject([
      { source: "fallback_upstream", after: "upstream_failed" },
    ]);
    expect(h.runtime.sli.window("r", "backup", "1m").fallbacks).toBe(1);
  });

  it("goes to the fallback upstream when the primary's breaker is open", async () => {
    const h = new PipelineHarness(
      testConfig(
        { fallback: { upstream: "backup" } },
        { circuitBreaker: { forcedState: "forced_open" } },
      ),
    );
    const res = await h.run();
    expect(h.calls.map((c) => c.upstream)).toEqual(["backup"]);
    expect(res).toMatchObject({ type: "response", upstream: "backup", fromFallback: true });
  });

  it("signals the stale cache entry before any other fallback", async () => {
    const h = new PipelineHarness(
      testConfig({
        retry: { maxAttempts: 1 },
        fallback: { upstream: "backup", static: { body: "static" } },
      }),
    );
    h.script = () => h.respond(500);
    const res = await h.run({ hasStale: true });
    expect(res).toMatchObject({
      type: "fallback",
      source: "stale_cache",
      cause: "upstream_failed",
      attempts: 1,
      lastOutcome: { kind: "http_5xx" },
    });
    expect(h.calls).toHaveLength(1);
    expect(h.discarded).toHaveLength(1); // the 500 was let go
  });

  it("serves the static response when the fallback upstream fails too", async () => {
    const h = new PipelineHarness(
      testConfig({
        retry: { maxAttempts: 1 },
        fallback: { upstream: "backup", static: { status: 200, body: '{"items":[]}' } },
      }),
    );
    h.script = () => h.respond(500);
    const res = await h.run();
    expect(res).toMatchObject({
      type: "fallback",
      source: "static",
      staticResponse: { status: 200, body: '{"items":[]}' },
      attempts: 2,
    });
    expect(h.discarded).toHaveLength(2);
  });
});

describe("RoutePipeline: fallback upstream failing too", () => {
  it("passes the fallback upstream's failure through when nothing else is left", async () => {
    const h = new PipelineHarness(
      testConfig({ retry: { maxAttempts: 1 }, fallback: { upstream: "backup" } }),
    );
    h.script = (a) => h.respond(a.upstream === "api" ? 500 : 502);
    const res = await h.run();
    expect(res).toMatchObject({
      type: "response",
      upstream: "backup",
      fromFallback: true,
      outcome: { kind: "http_5xx", status: 502 },
      attempts: 2,
    });
    expect(h.discarded.map((r) => r.status)).toEqual([500]);
    expect(h.eventsOf("fallback.served")).toHaveLength(0);
  });

  it("answers RG_BREAKER_OPEN with the open time when the fallback cannot connect", async () => {
    const h = new PipelineHarness(
      testConfig(
        { fallback: { upstream: "backup" } },
        { circuitBreaker: { forcedState: "forced_open", openDurationMs: 7000 } },
      ),
    );
    h.script = () => {
      throw Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
    };
    const res = await h.run();
    expect(res).toMatchObject({
      type: "rejected",
      code: "RG_BREAKER_OPEN",
      retryAfterMs: 7000,
      attempts: 1,
      lastOutcome: { kind: "connect_error" },
    });
  });
});

describe("RoutePipeline: fallback upstream's own breaker", () => {
  it("probes a tripped fallback upstream once its open time has elapsed", async () => {
    const h = new PipelineHarness(
      testConfig(
        { retry: { maxAttempts: 1 }, fallback: { upstream: "backup" } },
        {},
        {
          upstreams: {
            backup: {
              endpoints: { m: { url: "http://127.0.0.1:1003" } },
              circuitBreaker: {
                consecutiveFailures: 1,
                openDurationMs: 5000,
                halfOpenSuccessesToClose: 1,
              },
            },
          },
        },
      ),
    );
    let backupFails = true;
    h.script = (a) => (a.upstream === "api" ? h.respond(503) : h.respond(backupFails ? 500 : 200));
    await h.run();
    const backup = () => h.runtime.snapshot().upstreams.backup!.breakers[0]!;
    expect(backup().state).toBe("open");
    backupFails = false;

    // Still open: the fallback is skipped and the primary's failure passes through.
    h.clock.advance(1000);
    let res = await h.run();
    expect(h.calls.map((c) => c.upstream)).toEqual(["api", "backup", "api"]);
    expect(res).toMatchObject({ type: "response", upstream: "api" });

    // Open time elapsed: the fallback gets the probe, which closes its breaker.
    h.clock.advance(60_000);
    res = await h.run();
    expect(h.calls.map((c) => c.upstream)).toEqual(["api", "backup", "api", "api", "backup"]);
    expect(res).toMatchObject({ type: "response", upstream: "backup", fromFallback: true });
    expect(backup().state).toBe("closed");
  });
});

describe("RoutePipeline: fallback upstream equal to the primary", () => {
  it("does not try the failed upstream a second time as its own fallback", async () => {
    // The schema refuses such a fallback; a config built past it still gets one call.
    const config = testConfig({ retry: { maxAttempts: 1 }, fallback: { upstream: "backup" } });
    config.routes.r!.fallback!.upstream = "api";
    const h = new PipelineHarness(config);
    h.script = () => h.respond(503);
    const res = await h.run();
    expect(h.calls).toHaveLength(1);
    expect(res).toMatchObject({ type: "response", outcome: { status: 503 } });
  });
});

describe("RoutePipeline: client abort", () => {
  it("stops and does not charge the breaker when the client goes away", async () => {
    const h = new PipelineHarness(testConfig());
    h.script = (a) => h.hang(a);
    const ac = new AbortController();
    const p = h.start({ signal: ac.signal });
    await new Promise((r) => setImmediate(r));
    ac.abort();
    const res = await h.settle(p);
    expect(res).toMatchObject({ type: "rejected", clientAborted: true, attempts: 1 });
    expect(h.calls[0]!.signal.aborted).toBe(true);
    expect(h.runtime.snapshot().upstreams.api!.breakers[0]!.window.calls).toBe(0);
  });
});

describe("RoutePipeline: client abort while queued", () => {
  it("makes no call and frees the slot when the client leaves as its slot comes free", async () => {
    const h = new PipelineHarness(
      testConfig(
        { timeouts: { perTryMs: 5000, totalMs: 10_000 }, retry: { maxAttempts: 1 } },
        { bulkhead: { maxConcurrent: 1, maxQueue: 10, queueTimeoutMs: 5000 } },
      ),
    );
    const bulkhead = h.runtime.upstream("api")!.bulkhead;
    const held = bulkhead.acquire("other");
    if (held instanceof Promise || !held.ok) throw new Error("expected a free slot");
    h.script = (a) => h.hang(a);
    const ac = new AbortController();
    let doneAt = -1;
    const p = h.start({ signal: ac.signal }).then((r) => ((doneAt = h.clock.now()), r));
    await new Promise((r) => setImmediate(r));
    expect(bulkhead.snapshot().queued).toBe(1);
    h.clock.advance(100);
    held.release(); // the slot goes to the waiter…
    ac.abort(); // …and the client leaves in the same turn
    const res = await h.settle(p, 10);
    expect(h.calls).toHaveLength(0);
    expect(doneAt).toBe(100);
    expect(res).toMatchObject({ type: "rejected", clientAborted: true, attempts: 0 });
    expect(bulkhead.snapshot()).toMatchObject({ inFlight: 0, queued: 0 });
    expect(h.runtime.snapshot().upstreams.api!.breakers[0]!.window.calls).toBe(0);
  });
});

describe("RoutePipeline: traffic shift", () => {
  it("sends the configured share to the shift target", async () => {
    const h = new PipelineHarness(testConfig({ shift: { to: "backup", percent: 30 } }));
    for (let i = 0; i < 1000; i++) await h.start();
    const shifted = h.calls.filter((c) => c.upstream === "backup").length;
    expect(shifted).toBeGreaterThan(250);
    expect(shifted).toBeLessThan(350);
  });

  it("ramps the share linearly over durationMs", async () => {
    // Every draw is 0.25: the shift goes to backup while its share is above 25%.
    const h = new PipelineHarness(
      testConfig({ shift: { to: "backup", percent: 60, durationMs: 10_000 } }),
      { random: new SequenceRandom([0.25]) },
    );
    expect(h.runtime.snapshot().routes.r!.shiftPercent).toBe(0);
    await h.start();
    expect(h.calls.at(-1)!.upstream).toBe("api"); // 25 ≥ 0
    h.clock.advance(5000);
    expect(h.runtime.snapshot().routes.r!.shiftPercent).toBe(30);
    await h.start();
    expect(h.calls.at(-1)!.upstream).toBe("backup"); // 25 < 30
    h.clock.advance(2500);
    expect(h.runtime.snapshot().routes.r!.shiftPercent).toBe(45);
    h.clock.advance(10_000);
    expect(h.runtime.snapshot().routes.r!.shiftPercent).toBe(60);
  });
});

describe("RoutePipeline: rate limit", () => {
  const limited = {
    rateLimit: {
      tiers: { default: { limit: 2, windowMs: 1000 }, premium: { limit: 5, windowMs: 1000 } },
    },
  };

  it("rejects over the limit with the decision and without calling the upstream", async () => {
    const h = new PipelineHarness(testConfig(limited));
    const ok = await h.start();
    expect(ok).toMatchObject({ type: "response", rateLimit: { allowed: true, limit: 2 } });
    await h.start();
    const res = await h.start();
    expect(res).toMatchObject({
      type: "rejected",
      code: "RG_RATE_LIMITED",
      attempts: 0,
      rateLimit: { allowed: false, tier: "default", limit: 2 },
    });
    expect(res.type === "rejected" && res.retryAfterMs).toBeGreaterThan(0);
    expect(h.calls).toHaveLength(2);
    // Another consumer has its own quota, a premium one a larger one.
    expect((await h.start({ consumerKey: "c2" })).type).toBe("response");
    expect(await h.start({ consumerKey: "c3", tier: "premium" })).toMatchObject({
      rateLimit: { limit: 5 },
    });
    expect(h.eventsOf("ratelimit.rejected")).toHaveLength(1);
    // A 429 is the client's problem: counted as rate_limited, not as bad.
    const w = h.runtime.sli.window("r", "api", "1m");
    expect(w.byOutcome.rate_limited).toBe(1);
    expect(w.bad).toBe(0);
  });

  it("adapts the limits from the SLI window on tick", async () => {
    const h = new PipelineHarness(
      testConfig({
        retry: { maxAttempts: 1 },
        rateLimit: {
          tiers: { default: { limit: 100, windowMs: 1000 } },
          adaptive: { enabled: true, errorRatePercent: 20, stepFactor: 0.5, minFactor: 0.25 },
        },
      }),
    );
    h.script = () => h.respond(500);
    for (let i = 0; i < 5; i++) await h.start();
    h.runtime.tick();
    expect(h.runtime.snapshot().routes.r!.rateLimitFactor).toBe(0.5);
    h.runtime.tick();
    expect(h.runtime.snapshot().routes.r!.rateLimitFactor).toBe(0.25);
    h.clock.advance(11_000); // the errors leave the 10-second window
    h.runtime.tick();
    expect(h.runtime.snapshot().routes.r!.rateLimitFactor).toBe(0.5);
  });

  it("adapts on the upstream's failures however many requests the limiter refuses", async () => {
    const h = new PipelineHarness(
      testConfig(
        {
          retry: { maxAttempts: 1 },
          rateLimit: {
            tiers: { default: { limit: 10, windowMs: 1000 } },
            adaptive: { enabled: true, errorRatePercent: 20, stepFactor: 0.5, minFactor: 0.25 },
          },
        },
        { circuitBreaker: { enabled: false } },
      ),
    );
    h.script = () => h.respond(500); // every call that reaches the upstream fails
    for (let s = 0; s < 3; s++) {
      for (let i = 0; i < 100; i++) await h.start(); // 100 requests a second against 10
      h.clock.advance(1000);
    }
    // The SLIs still count the refusals as before.
    const w = h.runtime.sli.window("r", "api", "10s");
    expect(w.total).toBe(300);
    expect(w.byOutcome.rate_limited).toBe(300 - h.calls.length);
    expect(w.errorRate).toBeLessThan(0.2);
    // The limiter judges by the calls it let through: all failed.
    expect(h.runtime.sli.health("r", "api", "10s")).toMatchObject({
      requests: h.calls.length,
      errorRate: 1,
    });
    h.runtime.tick();
    expect(h.runtime.snapshot().routes.r!.rateLimitFactor).toBe(0.5);
  });
});

describe("RoutePipeline: deferred success", () => {
  const reset = {
    kind: "connect_error",
    errorCode: "ECONNRESET",
    durationMs: 0,
    failure: true,
  } as const;

  /** Six calls; after each, the endpoint it used fails (as a tunnel reset by its upstream). */
  async function sixThenFail(deferSuccess: boolean, status = 200) {
    const h = new PipelineHarness(
      testConfig(
        { retry: { maxAttempts: 1 } },
        { outlierDetection: { consecutive5xx: 2, maxEjectionPercent: 50 } },
      ),
    );
    h.script = () => h.respond(status);
    const endpoints = h.runtime.upstream("api")!.endpoints;
    for (let i = 0; i < 6; i++) {
      const res = await h.run({ deferSuccess });
      if (res.type === "response" && status < 500) {
        endpoints.record(res.endpoint, reset);
        res.permit?.record(reset);
      }
    }
    return h.runtime.snapshot().upstreams.api!.endpoints.filter((e) => e.ejected).length;
  }

  it("leaves a success for the caller to record, so failures after it count in a row", async () => {
    // Fed at once, each call's success resets its endpoint's run of failures: none is ejected.
    expect(await sixThenFail(false)).toBe(0);
    // Deferred, the resets are consecutive; the other endpoint stays in service.
    expect(await sixThenFail(true)).toBe(1);
  });

  it("still records a failed attempt at once", async () => {
    expect(await sixThenFail(true, 502)).toBe(1);
  });

  const breakerOf = (h: PipelineHarness) => h.runtime.snapshot().upstreams.api!.breakers[0]!;
  const streak = { retry: { maxAttempts: 1 } };
  const trips = {
    circuitBreaker: {
      consecutiveFailures: 2,
      openDurationMs: 5000,
      halfOpenMaxProbes: 1,
      halfOpenSuccessesToClose: 1,
    },
  };

  it("hands the success's breaker permit to the caller, whose failures open the breaker", async () => {
    const h = new PipelineHarness(testConfig(streak, trips));
    const first = await h.run({ deferSuccess: true });
    expect(first.type).toBe("response");
    const permit = first.type === "response" ? first.permit : undefined;
    expect(permit).toBeDefined();
    // Nothing counted until the caller settles it.
    expect(breakerOf(h).window.calls).toBe(0);
    permit!.record(reset);
    permit!.record({ kind: "success", durationMs: 1, failure: false }); // settled once only
    expect(breakerOf(h).window).toMatchObject({ calls: 1, failures: 1 });
    const second = await h.run({ deferSuccess: true });
    if (second.type === "response") second.permit!.record(reset);
    expect(breakerOf(h).state).toBe("open");
    expect((await h.run({ deferSuccess: true })).type).toBe("rejected");
  });

  it("keeps a half-open probe's slot until the caller settles it", async () => {
    const h = new PipelineHarness(testConfig(streak, trips));
    h.script = () => h.respond(503);
    for (let i = 0; i < 2; i++) await h.run();
    expect(breakerOf(h).state).toBe("open");
    h.clock.advance(5000);
    h.script = () => h.respond(200);
    const probe = await h.run({ deferSuccess: true });
    expect(probe.type).toBe("response");
    // The probe is still out: another call is refused, and the breaker stays half-open.
    expect(breakerOf(h)).toMatchObject({ state: "half_open", halfOpen: { inFlight: 1 } });
    expect((await h.run({ deferSuccess: true })).type).toBe("rejected");
    if (probe.type === "response") probe.permit!.record(probe.outcome);
    expect(breakerOf(h).state).toBe("closed");
  });

  it("with deferSli, leaves a deferred success out of the SLIs and hands back its sample", async () => {
    const h = new PipelineHarness(testConfig(streak, trips));
    const sli = () => h.runtime.sli.window("r", "api", "1m");
    // A WebSocket handshake (deferSuccess alone) is in the SLIs at once.
    await h.run({ deferSuccess: true });
    expect(sli().byOutcome.success).toBe(1);
    const deferred = await h.run({ deferSuccess: true, deferSli: true });
    expect(deferred.type === "response" && deferred.sli).toMatchObject({
      retried: false,
      fallback: false,
    });
    expect(sli().total).toBe(1);
    // A failure is never deferred: no sample, counted at once.
    h.script = () => h.respond(503);
    const failed = await h.run({ deferSuccess: true, deferSli: true });
    expect(failed.type === "response" && failed.sli).toBe(undefined);
    expect(sli()).toMatchObject({ total: 2, byOutcome: { success: 1, http_5xx: 1 } });
  });

  it("gives no permit without deferSuccess, or for an answer that is not a success", async () => {
    const h = new PipelineHarness(testConfig(streak, trips));
    const plain = await h.run();
    expect(plain.type === "response" && plain.permit).toBe(undefined);
    expect(breakerOf(h).window.calls).toBe(1);
    h.script = () => h.respond(404);
    const refused = await h.run({ deferSuccess: true });
    expect(refused.type === "response" && refused.permit).toBe(undefined);
    expect(breakerOf(h).window.calls).toBe(2);
  });
});
