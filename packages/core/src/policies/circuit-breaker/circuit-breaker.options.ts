import type { CircuitBreakerConfig } from "../../config/schema";
import type { BreakerState, EventBus } from "../../events";
import type { Outcome } from "../../outcome";
import type { Clock } from "../../ports";

export interface CircuitBreakerOptions {
  /** Names the breaker in snapshots (e.g. the upstream id, or "route:upstream"). */
  name: string;
  upstream: string;
  route?: string;
  config: CircuitBreakerConfig;
  clock: Clock;
  events?: EventBus;
}

/** Leave to make one call. Settle it exactly once: `record` its outcome, or `release` it. */
export interface BreakerPermit {
  ok: true;
  record(outcome: Outcome): void;
  /** The call never happened (e.g. the bulkhead rejected it): frees a half-open probe slot. */
  release(): void;
}

export interface BreakerRejection {
  ok: false;
  state: BreakerState;
  /**
   * Remaining open time in ms. For forced_open it is `openDurationMs`; when half-open
   * probes are all in flight it is 0 (the breaker may close any moment).
   */
  retryAfterMs: number;
}

export type BreakerAdmission = BreakerPermit | BreakerRejection;

/**
 * How long to stay open after the `trips`-th consecutive trip:
 * openDurationMs × multiplier^(trips−1), capped at maxOpenDurationMs. An upstream
 * Retry-After that is longer wins when `honorRetryAfter`, but is capped at
 * maxOpenDurationMs too, so that one bad header cannot hold the breaker open for hours.
 */
export function openDurationFor(
  config: CircuitBreakerConfig,
  trips: number,
  retryAfterMs: number | undefined,
): { openForMs: number; retryAfterMs?: number } {
  const grown = config.openDurationMs * config.openBackoffMultiplier ** Math.max(0, trips - 1);
  const openForMs = Math.min(config.maxOpenDurationMs, Math.round(grown));
  if (config.honorRetryAfter && retryAfterMs !== undefined) {
    const honoured = Math.min(config.maxOpenDurationMs, retryAfterMs);
    if (honoured > openForMs) return { openForMs: honoured, retryAfterMs };
  }
  return { openForMs };
}
