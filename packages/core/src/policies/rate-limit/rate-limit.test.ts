import { describe, expect, it } from "vitest";
import { rateLimitSchema } from "../../config/schema";
import { EventBus } from "../../events";
import type { ResilienceEvent } from "../../events";
import { FakeClock } from "../../testing";
import { rateLimitHeaders } from "./headers";
import { RouteRateLimiter } from "./rate-limit";
import type { RateLimitDecision } from "./rate-limit.options";

type Input = Parameters<typeof rateLimitSchema.parse>[0];

function setup(input: Input) {
  const clock = new FakeClock();
  const events = new EventBus();
  const seen: ResilienceEvent[] = [];
  events.on((e) => seen.push(e));
  const rl = new RouteRateLimiter({
    route: "orders",
    config: rateLimitSchema.parse(input),
    clock,
    events,
  });
  return { clock, seen, rl };
}

function sync(d: RateLimitDecision | Promise<RateLimitDecision>): RateLimitDecision {
  if (d instanceof Promise) throw new Error("token buckets decide synchronously");
  return d;
}

const allowed = (rl: RouteRateLimiter, consumer: string, tier: string, n: number) =>
  Array.from({ length: n }, () => sync(rl.check(consumer, tier)).allowed);

const tiers = {
  default: { limit: 2, windowMs: 1000 },
  gold: { limit: 4, windowMs: 1000 },
};

describe("RouteRateLimiter", () => {
  it("limits each tier by its own quota; an unknown tier gets the default", () => {
    const { rl } = setup({ tiers });
    expect(allowed(rl, "a", "gold", 5)).toEqual([true, true, true, true, false]);
    expect(allowed(rl, "b", "silver", 3)).toEqual([true, true, false]);
    expect(sync(rl.check("b", "silver")).tier).toBe("default");
    expect(sync(rl.check("a", "gold"))).toMatchObject({ tier: "gold", limit: 4 });
  });

  it("gives unknown tiers the strictest tier when there is no default", () => {
    const { rl } = setup({
      tiers: { gold: { limit: 4, windowMs: 1000 }, bronze: { limit: 3, windowMs: 2000 } },
    });
    expect(sync(rl.check("x", "nobody"))).toMatchObject({ tier: "bronze", limit: 3 });
  });

  it("emits ratelimit.rejected with what the client needs to back off", () => {
    const { rl, seen } = setup({ tiers });
    allowed(rl, "a", "default", 3);
    expect(seen).toEqual([
      expect.objectContaining({
        type: "ratelimit.rejected",
        route: "orders",
        consumer: "a",
        tier: "default",
        limit: 2,
        retryAfterMs: 500,
      }),
    ]);
  });

  it("admits everything when disabled, with no headers", () => {
    const { rl } = setup({ enabled: false, tiers });
    expect(allowed(rl, "a", "default", 10)).toEqual(Array(10).fill(true));
    expect(rateLimitHeaders(sync(rl.check("a", "default")))).toEqual({});
  });

  it("decides asynchronously with the sliding window", async () => {
    const { rl, seen } = setup({ algorithm: "sliding_window", tiers });
    const d = rl.check("a", "default");
    expect(d).toBeInstanceOf(Promise);
    expect((await d).allowed).toBe(true);
    expect((await rl.check("a", "default")).allowed).toBe(true);
    expect(await rl.check("a", "default")).toMatchObject({ allowed: false, tier: "default" });
    expect(seen.map((e) => e.type)).toEqual(["ratelimit.rejected"]);
  });

  it("lowers limits step by step while the upstream struggles and recovers when healthy", () => {
    const { rl, seen } = setup({
      tiers: { default: { limit: 100, windowMs: 1000 } },
      adaptive: {
        enabled: true,
        latencyP99Ms: 1000,
        errorRatePercent: 20,
        minFactor: 0.25,
        stepFactor: 0.5,
      },
    });
    expect(rl.adapt({ p99Ms: 1500, errorRatePercent: 0 })).toBe(0.5);
    expect(sync(rl.check("a", "default")).limit).toBe(50);
    expect(rl.adapt({ p99Ms: 200, errorRatePercent: 35 })).toBe(0.25);
    expect(rl.adapt({ p99Ms: 200, errorRatePercent: 35 })).toBe(0.25); // floor
    expect(allowed(rl, "b", "default", 26)).toEqual([...Array(25).fill(true), false]);
    expect(rl.adapt({ p99Ms: 1000, errorRatePercent: 20 })).toBe(0.5); // at thresholds = healthy
    expect(rl.adapt({ p99Ms: 100, errorRatePercent: 0 })).toBe(1);
    expect(rl.adapt({ p99Ms: 100, errorRatePercent: 0 })).toBe(1);
    expect(rl.factor).toBe(1);
    expect(sync(rl.check("c", "default")).limit).toBe(100);
    const adapted = seen.filter((e) => e.type === "ratelimit.adapted");
    expect(adapted.map((e) => e.type === "ratelimit.adapted" && [e.from, e.to, e.because])).toEqual(
      [
        [1, 0.5, "p99 1500ms > 1000ms"],
        [0.5, 0.25, "error rate 35% > 20%"],
        [0.25, 0.5, "upstream healthy"],
        [0.5, 1, "upstream healthy"],
      ],
    );
  });

  it("ignores health signals when adaptive mode is off", () => {
    const { rl, seen } = setup({ tiers });
    expect(rl.adapt({ p99Ms: 99_999, errorRatePercent: 100 })).toBe(1);
    expect(seen).toEqual([]);
  });

  it("keeps counters across a config change that keeps the window", () => {
    const { rl } = setup({ tiers });
    allowed(rl, "a", "default", 2);
    rl.updateConfig(
      rateLimitSchema.parse({ tiers: { ...tiers, default: { limit: 3, windowMs: 1000 } } }),
    );
    expect(allowed(rl, "a", "default", 2)).toEqual([true, false]);
    rl.updateConfig(rateLimitSchema.parse({ tiers: { default: { limit: 3, windowMs: 2000 } } }));
    expect(allowed(rl, "a", "default", 4)).toEqual([true, true, true, false]);
    expect(sync(rl.check("a", "gold")).tier).toBe("default");
  });

  it("restores factor 1 when adaptive mode is turned off", () => {
    const adaptive = { enabled: true, latencyP99Ms: 100 };
    const { rl } = setup({ tiers, adaptive });
    rl.adapt({ p99Ms: 500, errorRatePercent: 0 });
    expect(rl.factor).toBe(0.5);
    rl.updateConfig(rateLimitSchema.parse({ tiers }));
    expect(rl.factor).toBe(1);
  });
});

describe("rateLimitHeaders", () => {
  it("writes RateLimit-Policy and RateLimit, and Retry-After when refused", () => {
    const { rl, clock } = setup({ tiers: { default: { limit: 100, windowMs: 1000 } } });
    expect(rateLimitHeaders(sync(rl.check("a", "default")))).toEqual({
      "RateLimit-Policy": '"default";q=100;w=1',
      RateLimit: '"default";r=99;t=1',
    });
    for (let i = 0; i < 99; i++) rl.check("a", "default");
    clock.advance(5);
    expect(rateLimitHeaders(sync(rl.check("a", "default")))).toEqual({
      "RateLimit-Policy": '"default";q=100;w=1',
      RateLimit: '"default";r=0;t=1',
      "Retry-After": "1",
    });
  });

  it("states sub-second and multi-second windows in whole seconds", () => {
    const d = (limit: number, windowMs: number) =>
      sync(setup({ tiers: { default: { limit, windowMs } } }).rl.check("a", "default"));
    expect(rateLimitHeaders(d(10, 100))["RateLimit-Policy"]).toBe('"default";q=100;w=1');
    expect(rateLimitHeaders(d(600, 60_000))).toEqual({
      "RateLimit-Policy": '"default";q=600;w=60',
      RateLimit: '"default";r=599;t=1',
    });
  });

  it("rounds Retry-After up to whole seconds", () => {
    const base: RateLimitDecision = {
      allowed: false,
      limit: 1,
      remaining: 0,
      resetMs: 60_000,
      retryAfterMs: 1001,
      policy: '"default";q=1;w=60',
      tier: "default",
    };
    expect(rateLimitHeaders(base)).toEqual({
      "RateLimit-Policy": '"default";q=1;w=60',
      RateLimit: '"default";r=0;t=60',
      "Retry-After": "2",
    });
  });
});
