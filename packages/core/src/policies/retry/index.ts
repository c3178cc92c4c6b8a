export { exponentialCeilingMs, fullJitterMs } from "./backoff";
export type { BackoffConfig } from "./backoff";
export { RetryBudget } from "./retry-budget";
export type { RetryBudgetStats } from "./retry-budget";
export { decideRetry, isIdempotentMethod } from "./retry";
export type { RetryDecision, RetryInput, RetryStopReason } from "./retry";
