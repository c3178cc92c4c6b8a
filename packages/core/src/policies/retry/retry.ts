/**
 * Whether, and after how long, to retry an attempt: one pure decision. The caller owns
 * the loop, the sleep and the events (`retry.scheduled`, `retry.budget_exhausted`), since
 * it knows the route, upstream and wall time; this function only decides.
 *
 * Checks, in order: outcome worth retrying at all, request replayable, attempts left,
 * breaker closed, the wait (Retry-After or full-jitter backoff) acceptable and inside the
 * deadline, and last a slot in the retry budget — so the budget is only consumed by a
 * retry that will actually happen.
 */
import type { RetryConfig } from "../../config/schema";
import type { Outcome } from "../../outcome";
import type { Random } from "../../ports";
import { fullJitterMs } from "./backoff";
import type { RetryBudget } from "./retry-budget";

export interface RetryInput {
  /** 1-based number of the attempt that just finished. */
  attempt: number;
  outcome: Outcome;
  config: RetryConfig;
  /** Idempotent method or an Idempotency-Key, and a body that can be sent again. */
  retryable: boolean;
  deadlineRemainingMs: number;
  breakerOpen: boolean;
  budget: RetryBudget;
  random: Random;
}

export type RetryStopReason =
  | "not_retryable"
  | "max_attempts"
  | "outcome_not_retryable"
  | "budget_exhausted"
  | "deadline"
  | "breaker_open"
  | "retry_after_too_long";

export type RetryDecision =
  | { retry: true; delayMs: number; reason: "retry_after" | "backoff" }
  | { retry: false; reason: RetryStopReason };

const stop = (reason: RetryStopReason): RetryDecision => ({ retry: false, reason });

export function decideRetry(input: RetryInput): RetryDecision {
  const { outcome, config } = input;
  if (
    outcome.kind === "success" ||
    outcome.kind === "client_error" ||
    !config.retryOn.includes(outcome.kind)
  ) {
    return stop("outcome_not_retryable");
  }
  if (!input.retryable) return stop("not_retryable");
  if (input.attempt >= config.maxAttempts) return stop("max_attempts");
  if (input.breakerOpen) return stop("breaker_open");

  let delayMs: number;
  let reason: "retry_after" | "backoff";
  if (config.honorRetryAfter && outcome.retryAfterMs !== undefined) {
    if (outcome.retryAfterMs > config.maxRetryAfterMs) return stop("retry_after_too_long");
    delayMs = outcome.retryAfterMs;
    reason = "retry_after";
  } else {
    delayMs = fullJitterMs(input.attempt, config, input.random);
    reason = "backoff";
  }
  if (delayMs >= input.deadlineRemainingMs) return stop("deadline");
  if (!input.budget.tryStartRetry()) return stop("budget_exhausted");
  return { retry: true, delayMs, reason };
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/** RFC 9110 §9.2.2 idempotent methods; method names are case-sensitive. */
export function isIdempotentMethod(method: string): boolean {
  return IDEMPOTENT.has(method);
}
