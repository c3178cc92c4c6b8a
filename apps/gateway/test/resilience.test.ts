/**
 * The resilience policies end to end: a real gateway in front of the demo upstream, faults
 * injected through the demo's in-process control, outcomes measured at both ends.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig, type ConfigInput } from "@rg/core";
import { startDemoUpstream, type DemoUpstream } from "../src/demo-upstream";
import type { Gateway } from "../src/gateway";
import { gatewayFor, request, trackUncaught, uncaught, until } from "./harness";

trackUncaught();

let demo: DemoUpstream;
let gw: Gateway;
let base: ConfigInput;

const SERVICES = [
  "rate",
  "slowcall",
  "consec",
  "retry",
  "budget",
  "retryafter",
  "deadline",
  "bulkslow",
  "bulkfast",
  "limited",
  "modes",
  "inv",
  "primary",
  "backup",
  "eject",
  "faults",
] as const;

const url = (svc: string, i = 0) => `http://127.0.0.1:${demo.services[svc]!.ports[i]}`;
const calls = (svc: string) => demo.stats(svc).requests - demo.stats(svc).healthChecks;
const noRetry = { maxAttempts: 1 };
const quickBreaker = { openDurationMs: 300, halfOpenMaxProbes: 1, halfOpenSuccessesToClose: 1 };

beforeAll(async () => {
  demo = await startDemoUpstream({
    services: Object.fromEntries(
      SERVICES.map((s) => [
        s,
        { ports: s === "eject" ? [0, 0] : [0], cacheable: s === "inv" || s === "modes" },
      ]),
    ),
  });
  // Outlier ejection would take a single endpoint out under the faults injected here;
  // it has its own test below.
  const up = (svc: string, extra: Record<string, unknown> = {}) => ({
    endpoints: { a: { url: url(svc) } },
    outlierDetection: { enabled: false },
    ...extra,
  });
  const route = (svc: string, extra: Record<string, unknown> = {}) => ({
    match: { pathPrefix: `/${svc}` },
    upstream: svc,
    timeouts: { connectMs: 500, perTryMs: 2000, totalMs: 5000 },
    ...extra,
  });
  base = {
    // The rate-limit tests' consumers: keys listed here are consumers of their own.
    gateway: { consumers: { tiers: { flood: "default", calm: "default" } } },
    upstreams: {
      rate: up("rate", {
        circuitBreaker: {
          minimumCalls: 5,
          failureRateThreshold: 50,
          window: { type: "count", size: 10 },
          ...quickBreaker,
        },
      }),
      slowcall: up("slowcall", {
        circuitBreaker: {
          minimumCalls: 4,
          slowCallDurationMs: 100,
          slowCallRateThreshold: 100,
          window: { type: "count", size: 4 },
          ...quickBreaker,
        },
      }),
      consec: up("consec", {
        circuitBreaker: { minimumCalls: 1000, consecutiveFailures: 3, ...quickBreaker },
      }),
      retry: up("retry", {
        circuitBreaker: { enabled: false },
        retryBudget: { percent: 100, minConcurrent: 10 },
      }),
      budget: up("budget", {
        circuitBreaker: { enabled: false },
        retryBudget: { percent: 0, minConcurrent: 0 },
      }),
      retryafter: up("retryafter", { circuitBreaker: { enabled: false } }),
      deadline: up("deadline", { circuitBreaker: { enabled: false } }),
      bulkslow: up("bulkslow", {
        circuitBreaker: { enabled: false },
        bulkhead: { maxConcurrent: 2, maxQueue: 0 },
      }),
      bulkfast: up("bulkfast"),
      limited: up("limited"),
      modes: up("modes"),
      inv: up("inv", { circuitBreaker: { enabled: false } }),
      primary: up("primary", { circuitBreaker: { enabled: false } }),
      backup: up("backup"),
      faults: up("faults"),
      eject: {
        endpoints: { a: { url: url("eject", 0) }, b: { url: url("eject", 1) } },
        circuitBreaker: { enabled: false },
        outlierDetection: { consecutive5xx: 2, baseEjectionMs: 60_000, maxEjectionPercent: 50 },
      },
    },
    routes: {
      rate: route("rate", { retry: noRetry }),
      slowcall: route("slowcall", { retry: noRetry }),
      consec: route("consec", { retry: noRetry }),
      retry: route("retry", { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } }),
      budget: route("budget", { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } }),
      retryafter: route("retryafter", {
        retry: { maxAttempts: 2, baseDelayMs: 1, maxRetryAfterMs: 1500 },
      }),
      deadline: route("deadline", {
        timeouts: { connectMs: 500, perTryMs: 300, totalMs: 700 },
        retry: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 5 },
      }),
      bulkslow: route("bulkslow", { retry: noRetry }),
      bulkfast: route("bulkfast", { retry: noRetry }),
      limited: route("limited", {
        rateLimit: { tiers: { default: { limit: 3, windowMs: 60_000 } } },
      }),
      modes: route("modes", {
        criticality: "non_critical",
        fallback: {
          static: {
            status: 200,
            headers: { "content-type": "application/json" },
            body: '{"static":true}',
          },
        },
      }),
      inv: route("inv", { cache: { enabled: true, maxStaleMs: 60_000 }, retry: noRetry }),
      primary: route("primary", { retry: noRetry, fallback: { upstream: "backup" } }),
      eject: route("eject", { retry: { maxAttempts: 2, baseDelayMs: 1 } }),
      faults: route("faults", { retry: noRetry }),
    },
  };
  gw = await gatewayFor(base);
});

beforeEach(async () => {
  await demo.reset();
});

afterAll(async () => {
  await gw?.close();
  await demo?.close();
  expect(uncaught).toMatchObject({ exceptions: 0, rejections: 0 });
});

function breakerOf(upstream: string) {
  return gw.runtime.snapshot().upstreams[upstream]!.breakers[0]!;
}

async function recoversThroughHalfOpen(svc: string) {
  await demo.setBehaviour(svc, {});
  // Open for 300 ms, then one probe closes it.
  await until(async () => (await request(`${gw.url}/${svc}/x`)).status === 200, 3000, 50);
  expect(breakerOf(svc).state).toBe("closed");
}

describe("circuit breaker", () => {
  it("trips on the failure rate, rejects without calling the upstream, recovers through half-open", async () => {
    await demo.setBehaviour("rate", { errorRate: 1 });
    for (let i = 0; i < 5; i++) expect((await request(`${gw.url}/rate/x`)).status).toBe(500);
    expect(breakerOf("rate")).toMatchObject({ state: "open", reason: { trigger: "failure_rate" } });
    const before = calls("rate");
    const r = await request(`${gw.url}/rate/x`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toMatchObject({ code: "RG_BREAKER_OPEN" });
    expect(Number(r.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(calls("rate")).toBe(before);
    await recoversThroughHalfOpen("rate");
  });

  it("trips on slow calls", async () => {
    await demo.setBehaviour("slowcall", { latencyMs: 150 });
    for (let i = 0; i < 4; i++) expect((await request(`${gw.url}/slowcall/x`)).status).toBe(200);
    expect(breakerOf("slowcall")).toMatchObject({
      state: "open",
      reason: { trigger: "slow_call_rate" },
    });
    expect((await request(`${gw.url}/slowcall/x`)).status).toBe(503);
    await recoversThroughHalfOpen("slowcall");
  });

  it("trips on consecutive failures", async () => {
    await demo.setBehaviour("consec", { errorRate: 1, errorStatus: 502 });
    for (let i = 0; i < 3; i++) expect((await request(`${gw.url}/consec/x`)).status).toBe(502);
    expect(breakerOf("consec")).toMatchObject({
      state: "open",
      reason: { trigger: "consecutive_failures" },
    });
    await recoversThroughHalfOpen("consec");
  });
});

describe("retries", () => {
  it("retries idempotent requests and those with an Idempotency-Key, never a plain POST", async () => {
    await demo.setBehaviour("retry", { errorRate: 1, errorStatus: 503 });
    let before = calls("retry");
    expect((await request(`${gw.url}/retry/x`)).status).toBe(503);
    expect(calls("retry") - before).toBe(3);

    before = calls("retry");
    expect((await request(`${gw.url}/retry/x`, { method: "POST", body: "{}" })).status).toBe(503);
    expect(calls("retry") - before).toBe(1);

    before = calls("retry");
    const keyed = await request(`${gw.url}/retry/x`, {
      method: "POST",
      body: '{"a":1}',
      headers: { "idempotency-key": "k-1", "content-type": "application/json" },
    });
    expect(keyed.status).toBe(503);
    expect(calls("retry") - before).toBe(3);
  });

  it("stops retrying when the retry budget is spent", async () => {
    await demo.setBehaviour("budget", { errorRate: 1, errorStatus: 503 });
    const before = calls("budget");
    expect((await request(`${gw.url}/budget/x`)).status).toBe(503);
    expect(calls("budget") - before).toBe(1);
  });

  it("honours Retry-After", async () => {
    await demo.setBehaviour("retryafter", { rateLimitRate: 1, retryAfterSeconds: 1 });
    const before = calls("retryafter");
    const started = Date.now();
    const r = await request(`${gw.url}/retryafter/x`);
    expect(r.status).toBe(429);
    expect(calls("retryafter") - before).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    // A Retry-After longer than maxRetryAfterMs ends retrying at once.
    await demo.setBehaviour("retryafter", { rateLimitRate: 1, retryAfterSeconds: 5 });
    const b2 = calls("retryafter");
    const s2 = Date.now();
    expect((await request(`${gw.url}/retryafter/x`)).status).toBe(429);
    expect(calls("retryafter") - b2).toBe(1);
    expect(Date.now() - s2).toBeLessThan(500);
  });

  it("holds the total deadline across retries", async () => {
    await demo.setBehaviour("deadline", { latencyMs: 400 });
    const started = Date.now();
    const r = await request(`${gw.url}/deadline/x`);
    const ms = Date.now() - started;
    expect(r.status).toBe(504);
    expect(ms).toBeLessThan(1000);
    expect(calls("deadline")).toBeLessThanOrEqual(3);
  });
});

describe("isolation and limits", () => {
  it("bulkhead keeps a slow upstream from hurting another route", async () => {
    await demo.setBehaviour("bulkslow", { latencyMs: 1000 });
    const slow = Array.from({ length: 8 }, () => request(`${gw.url}/bulkslow/x`));
    const fastTimes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      expect((await request(`${gw.url}/bulkfast/x`)).status).toBe(200);
      fastTimes.push(performance.now() - t);
    }
    const statuses = (await Promise.all(slow)).map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(2);
    expect(statuses.filter((s) => s === 503)).toHaveLength(6);
    fastTimes.sort((a, b) => a - b);
    expect(fastTimes[Math.floor(fastTimes.length / 2)]!).toBeLessThan(100);
  });

  it("rate limits per consumer with 429, Retry-After and RateLimit headers", async () => {
    const key = { "x-api-key": "flood" };
    for (let i = 0; i < 3; i++)
      expect((await request(`${gw.url}/limited/x`, { headers: key })).status).toBe(200);
    const r = await request(`${gw.url}/limited/x`, { headers: key });
    expect(r.status).toBe(429);
    expect(JSON.parse(r.body)).toMatchObject({ code: "RG_RATE_LIMITED" });
    expect(Number(r.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(r.headers["ratelimit-policy"]).toMatch(/^"default";q=\d+;w=\d+$/);
    expect(r.headers["ratelimit"]).toMatch(/^"default";r=0;t=\d+$/);
    const other = await request(`${gw.url}/limited/x`, { headers: { "x-api-key": "calm" } });
    expect(other.status).toBe(200);
  });

  /**
   * Three requests from `client` pass whatever it forges in front, the fourth is limited, and
   * another client behind the same connection address still passes.
   */
  async function expectLimitedPerClient(
    consumers: Partial<ReturnType<typeof loadConfig>["gateway"]["consumers"]>,
    headers: (client: string, forged: string) => Record<string, string>,
    [client, other]: [string, string],
  ): Promise<void> {
    const cfg = loadConfig(base);
    Object.assign(cfg.gateway.consumers, consumers);
    gw.applyConfig(cfg);
    const status = async (c: string, forged: string) =>
      (await request(`${gw.url}/limited/x`, { headers: headers(c, forged) })).status;
    try {
      for (let i = 0; i < 3; i++) expect(await status(client, `6.6.6.${i}`)).toBe(200);
      expect(await status(client, "6.6.6.9")).toBe(429);
      expect(await status(other, "6.6.6.9")).toBe(200);
    } finally {
      gw.applyConfig(loadConfig(base));
    }
  }

  it("knows clients behind a trusted proxy by the address it appended to X-Forwarded-For", async () => {
    // What the client wrote before the proxy's entry is its own say, and changes nothing.
    await expectLimitedPerClient(
      { trustedProxyHops: 1 },
      (client, forged) => ({ "x-forwarded-for": `${forged}, ${client}` }),
      ["198.51.100.1", "198.51.100.2"],
    );
  });

  it("knows clients behind a list of trusted proxies by the rightmost address not on it", async () => {
    // An outer proxy (10.2.3.4) appended the client; the inner one, on loopback, the outer.
    await expectLimitedPerClient(
      { trustedProxies: ["127.0.0.1", "10.0.0.0/8"] },
      (client, forged) => ({ "x-forwarded-for": `${forged}, ${client}, 10.2.3.4` }),
      ["198.51.100.3", "198.51.100.4"],
    );
  });

  it("knows clients by the Forwarded header's for= when told to, whatever X-Forwarded-For says", async () => {
    await expectLimitedPerClient(
      { trustedProxies: ["127.0.0.1"], clientAddressHeader: "forwarded" },
      (client, forged) => ({
        forwarded: `for=${forged}, for="${client}:4711";proto=https`,
        "x-forwarded-for": forged,
      }),
      ["198.51.100.5", "198.51.100.6"],
    );
  });

  it("knows clients by X-Real-IP when told to, whatever X-Forwarded-For says", async () => {
    // As behind nginx with proxy_set_header X-Real-IP $remote_addr, which replaces the client's.
    await expectLimitedPerClient(
      { trustedProxies: ["127.0.0.1"], clientAddressHeader: "x-real-ip" },
      (client, forged) => ({ "x-real-ip": client, "x-forwarded-for": forged }),
      ["198.51.100.7", "198.51.100.8"],
    );
  });

  it("does not let a client escape its limit by making up a key per request", async () => {
    const made = (i: number) => ({ headers: { "x-api-key": `made-up-${i}` } });
    for (let i = 0; i < 3; i++)
      expect((await request(`${gw.url}/limited/x`, made(i))).status).toBe(200);
    // Keys not in gateway.consumers.tiers are all the same client: its address.
    expect((await request(`${gw.url}/limited/x`, made(3))).status).toBe(429);
    expect((await request(`${gw.url}/limited/x`)).status).toBe(429);
    // A listed key is a consumer of its own.
    expect(
      (await request(`${gw.url}/limited/x`, { headers: { "x-api-key": "calm" } })).status,
    ).toBe(200);
  });
});

describe("modes", () => {
  it("read-only refuses unsafe methods with 503 and Retry-After, and passes reads", async () => {
    const cfg = loadConfig(base);
    cfg.routes.modes!.mode = "read_only";
    gw.applyConfig(cfg);
    try {
      const post = await request(`${gw.url}/modes/x`, { method: "POST", body: "{}" });
      expect(post.status).toBe(503);
      expect(JSON.parse(post.body)).toMatchObject({ code: "RG_READ_ONLY" });
      expect(post.headers["retry-after"]).toBeDefined();
      expect((await request(`${gw.url}/modes/x`)).status).toBe(200);
    } finally {
      gw.applyConfig(loadConfig(base));
    }
  });

  it("degraded serves a non-critical route from its fallback without calling the upstream", async () => {
    const cfg = loadConfig(base);
    cfg.gateway.mode = "degraded";
    gw.applyConfig(cfg);
    try {
      const before = calls("modes");
      const r = await request(`${gw.url}/modes/y`);
      expect(r.status).toBe(200);
      expect(r.body).toBe('{"static":true}');
      expect(r.headers["x-degraded"]).toBe("true");
      expect(calls("modes")).toBe(before);
      // A critical route still passes in degraded mode.
      expect((await request(`${gw.url}/bulkfast/x`)).status).toBe(200);
      // A non-critical route with nothing to serve answers 503.
      const cfg2 = loadConfig(base);
      cfg2.gateway.mode = "degraded";
      delete cfg2.routes.modes!.fallback;
      gw.applyConfig(cfg2);
      const none = await request(`${gw.url}/modes/z`);
      expect(none.status).toBe(503);
      expect(JSON.parse(none.body)).toMatchObject({ code: "RG_DEGRADED" });
    } finally {
      gw.applyConfig(loadConfig(base));
    }
  });
});

describe("fallbacks", () => {
  it("serves a fresh hit, then stale-if-error when the upstream is down", async () => {
    const first = await request(`${gw.url}/inv/item`);
    expect(first.status).toBe(200);
    expect(first.headers["cache-status"]).toBe("gateway; fwd=uri-miss");
    const hit = await request(`${gw.url}/inv/item`);
    expect(hit.headers["cache-status"]).toBe("gateway; hit");
    expect(hit.body).toBe(first.body);
    await demo.setBehaviour("inv", { down: true });
    // max-age=1: once the entry is stale, the failed upstream call is answered from it.
    let stale: Awaited<ReturnType<typeof request>> | undefined;
    await until(
      async () => {
        stale = await request(`${gw.url}/inv/item`);
        return stale.headers["cache-status"]?.toString().includes("fwd=stale") ?? false;
      },
      4000,
      100,
    );
    expect(stale!.status).toBe(200);
    expect(stale!.body).toBe(first.body);
    expect(stale!.headers["x-degraded"]).toBe("true");
    expect(stale!.headers["cache-status"]).toContain("detail=stale-if-error");
  });

  it("uses the fallback upstream when the primary fails", async () => {
    await demo.setBehaviour("primary", { errorRate: 1 });
    const r = await request(`${gw.url}/primary/x`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ service: "backup" });
    expect(r.headers["x-degraded"]).toBe("true");
  });
});

describe("endpoints", () => {
  it("ejects a failing endpoint and sends traffic to the healthy one; weights shift on config change", async () => {
    const portA = demo.services.eject!.ports[0]!;
    const portB = demo.services.eject!.ports[1]!;
    await demo.setBehaviour("eject", { errorRate: 1 }, portA);
    for (let i = 0; i < 20; i++) expect((await request(`${gw.url}/eject/x`)).status).toBe(200);
    const eps = gw.runtime.snapshot().upstreams.eject!.endpoints;
    expect(eps.find((e) => e.id === "a")!.ejected).toBe(true);
    const aBefore = demo.stats("eject").byPort[String(portA)] ?? 0;
    for (let i = 0; i < 10; i++) expect((await request(`${gw.url}/eject/x`)).status).toBe(200);
    expect(demo.stats("eject").byPort[String(portA)] ?? 0).toBe(aBefore);

    // Weight shift: all weight on b, applied at once (weightShiftMs 0).
    await demo.reset();
    const cfg = loadConfig(base);
    cfg.upstreams.eject!.endpoints.a!.weight = 0;
    cfg.upstreams.eject!.outlierDetection.enabled = false;
    gw.applyConfig(cfg);
    try {
      for (let i = 0; i < 20; i++) await request(`${gw.url}/eject/y`);
      expect(demo.stats("eject").byPort[String(portA)] ?? 0).toBe(0);
      expect(demo.stats("eject").byPort[String(portB)]).toBe(20);
    } finally {
      gw.applyConfig(loadConfig(base));
    }
  });
});

describe("fault injection", () => {
  it("aborts and delays before the upstream call, emitting fault.injected sparingly", async () => {
    const seen: string[] = [];
    const off = gw.bus.on((e) => {
      if (e.type === "fault.injected") seen.push(`${e.kind}:${e.value}`);
    });
    const cfg = loadConfig(base);
    cfg.routes.faults!.faultInjection = {
      abortPercent: 100,
      abortStatus: 418,
      delayPercent: 0,
      delayMs: 0,
    };
    gw.applyConfig(cfg);
    try {
      const before = calls("faults");
      for (let i = 0; i < 10; i++) {
        const r = await request(`${gw.url}/faults/x`);
        expect(r.status).toBe(418);
        expect(JSON.parse(r.body)).toMatchObject({ code: "RG_FAULT_INJECTED", status: 418 });
      }
      expect(calls("faults")).toBe(before);
      expect(seen).toEqual(["abort:418"]);

      const delayed = loadConfig(base);
      delayed.routes.faults!.faultInjection = {
        abortPercent: 0,
        abortStatus: 503,
        delayPercent: 100,
        delayMs: 200,
      };
      gw.applyConfig(delayed);
      const started = Date.now();
      expect((await request(`${gw.url}/faults/x`)).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      expect(seen).toEqual(["abort:418", "delay:200"]);
    } finally {
      off();
      gw.applyConfig(loadConfig(base));
    }
  });
});
