import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SequenceRandom } from "../../testing";
import { exponentialCeilingMs, fullJitterMs } from "./backoff";
import type { BackoffConfig } from "./backoff";

const cfgArb: fc.Arbitrary<BackoffConfig> = fc.record({
  baseDelayMs: fc.integer({ min: 0, max: 60_000 }),
  maxDelayMs: fc.integer({ min: 0, max: 300_000 }),
  multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
});
const attemptArb = fc.integer({ min: 1, max: 2000 });
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe("exponentialCeilingMs", () => {
  it("grows by the multiplier from the base and stops at the cap", () => {
    const cfg = { baseDelayMs: 50, maxDelayMs: 1000, multiplier: 2 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => exponentialCeilingMs(n, cfg))).toEqual([
      50, 100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it("is monotone non-decreasing in the attempt and never above maxDelayMs", () => {
    fc.assert(
      fc.property(cfgArb, attemptArb, (cfg, n) => {
        const a = exponentialCeilingMs(n, cfg);
        const b = exponentialCeilingMs(n + 1, cfg);
        expect(b).toBeGreaterThanOrEqual(a);
        expect(a).toBeLessThanOrEqual(cfg.maxDelayMs);
        expect(a).toBeGreaterThanOrEqual(0);
        expect(Number.isFinite(a)).toBe(true);
      }),
    );
  });

  it("reaches the cap once base·multiplier^(n−1) exceeds it", () => {
    fc.assert(
      fc.property(cfgArb, attemptArb, (cfg, n) => {
        const raw = cfg.baseDelayMs === 0 ? 0 : cfg.baseDelayMs * cfg.multiplier ** (n - 1);
        expect(exponentialCeilingMs(n, cfg)).toBe(raw >= cfg.maxDelayMs ? cfg.maxDelayMs : raw);
      }),
    );
  });
});

describe("fullJitterMs", () => {
  it("is always within [0, ceiling]", () => {
    fc.assert(
      fc.property(cfgArb, attemptArb, unit, (cfg, n, r) => {
        const d = fullJitterMs(n, cfg, { next: () => r });
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(exponentialCeilingMs(n, cfg));
      }),
    );
  });

  it("is 0 for a zero base, however late the attempt", () => {
    const cfg = { baseDelayMs: 0, maxDelayMs: 1000, multiplier: 10 };
    expect(exponentialCeilingMs(5000, cfg)).toBe(0);
    expect(fullJitterMs(5000, cfg, { next: () => 0.9 })).toBe(0);
  });

  it("scales the ceiling by the random draw", () => {
    const cfg = { baseDelayMs: 100, maxDelayMs: 10_000, multiplier: 3 };
    const random = new SequenceRandom([0, 0.5, 0.999]);
    expect([1, 2, 3].map((n) => fullJitterMs(n, cfg, random))).toEqual([0, 150, 899]);
  });
});
