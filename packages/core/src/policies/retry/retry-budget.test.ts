import { describe, expect, it } from "vitest";
import { retrySchema } from "../../config/schema";
import type { RetryBudgetConfig } from "../../config/schema";
import { classify } from "../../outcome";
import { FakeClock, SeededRandom } from "../../testing";
import { decideRetry } from "./retry";
import { RetryBudget } from "./retry-budget";

describe("RetryBudget", () => {
  it("allows max(minConcurrent, percent % of active) retries in flight", () => {
    const b = new RetryBudget({ percent: 20, minConcurrent: 3 });
    expect(b.limit()).toBe(3);
    for (let i = 0; i < 3; i++) expect(b.tryStartRetry()).toBe(true);
    expect(b.tryStartRetry()).toBe(false);
    for (let i = 0; i < 25; i++) b.requestStarted(); // 20 % of 25 = 5
    expect(b.tryStartRetry()).toBe(true);
    expect(b.tryStartRetry()).toBe(true);
    expect(b.tryStartRetry()).toBe(false);
    expect(b.stats()).toEqual({ active: 25, retrying: 5, exhausted: 2 });
    b.retryFinished();
    expect(b.tryStartRetry()).toBe(true);
  });

  it("rounds the percentage down, as Envoy does", () => {
    // 10 % of 1 active request allows no retry: minConcurrent 0 leaves the ratio alone.
    const b = new RetryBudget({ percent: 10, minConcurrent: 0 });
    b.requestStarted();
    expect(b.limit()).toBe(0);
    expect(b.tryStartRetry()).toBe(false);
    // 25 % of 10 is 2.5: two retries, not three.
    const c = new RetryBudget({ percent: 25, minConcurrent: 0 });
    for (let i = 0; i < 10; i++) c.requestStarted();
    expect(c.limit()).toBe(2);
    expect(c.tryStartRetry()).toBe(true);
    expect(c.tryStartRetry()).toBe(true);
    expect(c.tryStartRetry()).toBe(false);
    // 20 % of 19 is 3.8: the floor of 3 applies, not 4.
    const d = new RetryBudget({ percent: 20, minConcurrent: 3 });
    for (let i = 0; i < 19; i++) d.requestStarted();
    expect(d.limit()).toBe(3);
  });

  it("never lets counters go negative on unbalanced finishes", () => {
    const b = new RetryBudget({ percent: 20, minConcurrent: 0 });
    b.requestFinished();
    b.retryFinished();
    expect(b.stats()).toEqual({ active: 0, retrying: 0, exhausted: 0 });
    expect(b.tryStartRetry()).toBe(false);
  });

  it("applies a new config to the next retry", () => {
    const b = new RetryBudget({ percent: 0, minConcurrent: 1 });
    expect(b.tryStartRetry()).toBe(true);
    expect(b.tryStartRetry()).toBe(false);
    b.updateConfig({ percent: 0, minConcurrent: 2 });
    expect(b.tryStartRetry()).toBe(true);
    expect(b.stats().retrying).toBe(2);
  });
});

/**
 * 1000 requests from 50 concurrent clients against an upstream where every attempt fails
 * after 20 ms, with 3 attempts allowed: counts the attempts the upstream receives.
 */
function simulateOutage(budgetCfg: RetryBudgetConfig, baseDelayMs: number) {
  const clock = new FakeClock();
  const random = new SeededRandom(7);
  const budget = new RetryBudget(budgetCfg);
  const config = retrySchema.parse({ maxAttempts: 3, baseDelayMs, maxDelayMs: 2000 });
  const REQUESTS = 1000;
  const CONCURRENCY = 50;
  const ATTEMPT_MS = 20;
  let started = 0;
  let finished = 0;
  let attempts = 0;
  let maxRetrying = 0;

  const startRequest = () => {
    if (started >= REQUESTS) return;
    started++;
    budget.requestStarted();
    attempt(1, false);
  };
  const attempt = (n: number, isRetry: boolean) => {
    attempts++;
    clock.setTimer(ATTEMPT_MS, () => {
      if (isRetry) budget.retryFinished();
      const decision = decideRetry({
        attempt: n,
        outcome: classify({ status: 503, durationMs: ATTEMPT_MS }),
        config,
        retryable: true,
        deadlineRemainingMs: 60_000,
        breakerOpen: false,
        budget,
        random,
      });
      if (decision.retry) {
        maxRetrying = Math.max(maxRetrying, budget.stats().retrying);
        clock.setTimer(decision.delayMs, () => attempt(n + 1, true));
        return;
      }
      budget.requestFinished();
      finished++;
      startRequest();
    });
  };

  for (let i = 0; i < CONCURRENCY; i++) startRequest();
  // Bounded: 1000 requests × at most 3 attempts × (20 ms + ≤ 2 s) is far below 10 min.
  for (let step = 0; step < 600 && finished < REQUESTS; step++) clock.advance(1000);
  expect(finished).toBe(REQUESTS);
  return { ratio: attempts / REQUESTS, maxRetrying, stats: budget.stats() };
}

describe("RetryBudget under a total outage", () => {
  it("keeps attempts per request at or below ~1.2 with Envoy's 20 % / 3", () => {
    const withBackoff = simulateOutage({ percent: 20, minConcurrent: 3 }, 50);
    const noBackoff = simulateOutage({ percent: 20, minConcurrent: 3 }, 0);
    expect(withBackoff.ratio).toBeGreaterThan(1);
    expect(withBackoff.ratio).toBeLessThanOrEqual(1.2);
    expect(noBackoff.ratio).toBeGreaterThan(1);
    expect(noBackoff.ratio).toBeLessThanOrEqual(1.25);
    // Never more than 20 % of the 50 active requests retry at once.
    expect(withBackoff.maxRetrying).toBeLessThanOrEqual(10);
    expect(noBackoff.maxRetrying).toBeLessThanOrEqual(10);
    expect(withBackoff.stats.exhausted).toBeGreaterThan(0);
    expect(withBackoff.stats).toMatchObject({ active: 0, retrying: 0 });
  });

  it("without a budget the same outage triples the load", () => {
    const unbounded = simulateOutage({ percent: 100, minConcurrent: 10_000 }, 50);
    expect(unbounded.ratio).toBe(3);
  });
});
