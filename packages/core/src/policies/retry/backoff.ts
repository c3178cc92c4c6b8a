/**
 * Pure backoff generators (cockatiel's ExponentialBackoffGenerators): no timers, no state,
 * so they are tested as functions.
 */
import type { RetryConfig } from "../../config/schema";
import type { Random } from "../../ports";

export type BackoffConfig = Pick<RetryConfig, "baseDelayMs" | "maxDelayMs" | "multiplier">;

/**
 * The ceiling of the wait after attempt `attempt` (1-based):
 * min(maxDelayMs, baseDelayMs · multiplier^(attempt−1)).
 */
export function exponentialCeilingMs(attempt: number, cfg: BackoffConfig): number {
  if (cfg.baseDelayMs <= 0) return 0; // 0 · Infinity would be NaN for very late attempts
  const exp = Math.max(0, Math.floor(attempt) - 1);
  // Overflow to Infinity is fine: the cap takes over.
  return Math.min(cfg.maxDelayMs, cfg.baseDelayMs * cfg.multiplier ** exp);
}

/**
 * AWS "full jitter": a uniformly random wait in [0, ceiling]. Spreads the retries of many
 * clients that failed together, so they do not return in lockstep.
 */
export function fullJitterMs(attempt: number, cfg: BackoffConfig, random: Random): number {
  return Math.floor(random.next() * exponentialCeilingMs(attempt, cfg));
}
