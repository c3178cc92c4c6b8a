import { describe, expect, it } from "vitest";
import { retryBudgetSchema, retrySchema } from "../../config/schema";
import type { RetryConfig } from "../../config/schema";
import { classify } from "../../outcome";
import type { Outcome } from "../../outcome";
import { FakeClock, SequenceRandom } from "../../testing";
import { decideRetry, isIdempotentMethod } from "./retry";
import type { RetryInput } from "./retry";
import { RetryBudget } from "./retry-budget";

const config = (over: Partial<RetryConfig> = {}): RetryConfig =>
  retrySchema.parse({ baseDelayMs: 100, maxDelayMs: 1000, multiplier: 2, ...over });

const e502: Outcome = classify({ status: 502, durationMs: 5 });

function input(over: Partial<RetryInput> = {}): RetryInput {
  return {
    attempt: 1,
    outcome: e502,
    config: config(),
    retryable: true,
    deadlineRemainingMs: 10_000,
    breakerOpen: false,
    budget: new RetryBudget(retryBudgetSchema.parse({})),
    random: new SequenceRandom([0.5]),
    ...over,
  };
}

describe("decideRetry", () => {
  it("retries a 5xx after a full-jitter backoff and takes one budget slot", () => {
    const budget = new RetryBudget(retryBudgetSchema.parse({}));
    expect(decideRetry(input({ budget }))).toEqual({ retry: true, delayMs: 50, reason: "backoff" });
    expect(decideRetry(input({ budget, attempt: 2 }))).toEqual({
      retry: true,
      delayMs: 100,
      reason: "backoff",
    });
    expect(budget.stats().retrying).toBe(2);
  });

  it("retries connect errors, timeouts and 429s by default", () => {
    for (const outcome of [
      classify({ errorCode: "ECONNREFUSED", durationMs: 1 }),
      classify({ timedOut: true, durationMs: 1 }),
      classify({ status: 429, durationMs: 1 }),
    ]) {
      expect(decideRetry(input({ outcome })).retry).toBe(true);
    }
  });

  it("never retries a success or a client error, nor kinds left out of retryOn", () => {
    const budget = new RetryBudget(retryBudgetSchema.parse({}));
    const cases: [Outcome, RetryConfig][] = [
      [classify({ status: 200, durationMs: 1 }), config()],
      [classify({ status: 404, durationMs: 1 }), config()],
      [classify({ timedOut: true, durationMs: 1 }), config({ retryOn: ["http_5xx"] })],
    ];
    for (const [outcome, cfg] of cases) {
      expect(decideRetry(input({ outcome, config: cfg, budget }))).toEqual({
        retry: false,
        reason: "outcome_not_retryable",
      });
    }
    expect(budget.stats().retrying).toBe(0);
  });

  it("stops for requests that cannot be replayed, after maxAttempts, and while the breaker is open", () => {
    const budget = new RetryBudget(retryBudgetSchema.parse({}));
    expect(decideRetry(input({ budget, retryable: false }))).toEqual({
      retry: false,
      reason: "not_retryable",
    });
    expect(decideRetry(input({ budget, attempt: 3, config: config({ maxAttempts: 3 }) }))).toEqual({
      retry: false,
      reason: "max_attempts",
    });
    expect(
      decideRetry(input({ budget, attempt: 2, config: config({ maxAttempts: 3 }) })).retry,
    ).toBe(true);
    expect(decideRetry(input({ budget, breakerOpen: true }))).toEqual({
      retry: false,
      reason: "breaker_open",
    });
    expect(budget.stats()).toEqual({ active: 0, retrying: 1, exhausted: 0 });
  });

  it("waits a delta-seconds Retry-After instead of the backoff", () => {
    const outcome = classify({ status: 503, durationMs: 5, retryAfter: "2" });
    expect(decideRetry(input({ outcome }))).toEqual({
      retry: true,
      delayMs: 2000,
      reason: "retry_after",
    });
  });

  it("waits an HTTP-date Retry-After, measured from the wall clock", () => {
    const clock = new FakeClock();
    const at = new Date(clock.wallNow() + 3000).toUTCString();
    const outcome = classify({
      status: 429,
      durationMs: 5,
      retryAfter: at,
      wallNow: clock.wallNow(),
    });
    expect(decideRetry(input({ outcome }))).toEqual({
      retry: true,
      delayMs: 3000,
      reason: "retry_after",
    });
  });

  it("stops when the Retry-After is longer than maxRetryAfterMs, and ignores it when told to", () => {
    const outcome = classify({ status: 503, durationMs: 5, retryAfter: "11" });
    expect(decideRetry(input({ outcome, config: config({ maxRetryAfterMs: 10_000 }) }))).toEqual({
      retry: false,
      reason: "retry_after_too_long",
    });
    expect(decideRetry(input({ outcome, config: config({ honorRetryAfter: false }) }))).toEqual({
      retry: true,
      delayMs: 50,
      reason: "backoff",
    });
  });

  it("stops when the wait would reach the deadline", () => {
    const budget = new RetryBudget(retryBudgetSchema.parse({}));
    // The backoff draw is 50 ms.
    expect(decideRetry(input({ budget, deadlineRemainingMs: 50 }))).toEqual({
      retry: false,
      reason: "deadline",
    });
    expect(decideRetry(input({ budget, deadlineRemainingMs: 51 })).retry).toBe(true);
    const outcome = classify({ status: 503, durationMs: 5, retryAfter: "5" });
    expect(decideRetry(input({ budget, outcome, deadlineRemainingMs: 4000 }))).toEqual({
      retry: false,
      reason: "deadline",
    });
    expect(budget.stats().retrying).toBe(1);
  });

  it("stops when the budget is spent, and counts the refusal", () => {
    const budget = new RetryBudget({ percent: 0, minConcurrent: 1 });
    expect(decideRetry(input({ budget })).retry).toBe(true);
    expect(decideRetry(input({ budget }))).toEqual({ retry: false, reason: "budget_exhausted" });
    expect(budget.stats()).toEqual({ active: 0, retrying: 1, exhausted: 1 });
    budget.retryFinished();
    expect(decideRetry(input({ budget })).retry).toBe(true);
  });
});

describe("isIdempotentMethod", () => {
  it("accepts the RFC 9110 idempotent methods only", () => {
    for (const m of ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]) {
      expect(isIdempotentMethod(m)).toBe(true);
    }
    for (const m of ["POST", "PATCH", "CONNECT", "get"]) expect(isIdempotentMethod(m)).toBe(false);
  });
});
