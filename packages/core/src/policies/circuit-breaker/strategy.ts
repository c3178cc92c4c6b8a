/**
 * A trip strategy decides *when* a closed breaker should open; the state machine in
 * circuit-breaker.ts decides what opening means. Strategies see every settled call made
 * while the breaker counts calls (closed, forced_closed, shadow).
 */
import type { CircuitBreakerConfig } from "../../config/schema";
import type { BreakerReason } from "../../events";
import type { Outcome } from "../../outcome";

export interface TripStrategy {
  /**
   * Record one settled call. Returns the reason to open, or undefined to stay closed.
   * `outcome.failure` decides failure; strategies never re-classify.
   */
  onResult(outcome: Outcome, now: number): BreakerReason | undefined;
  /** Forget every recorded call (after closing, or when the window changes shape). */
  reset(): void;
  updateConfig(config: CircuitBreakerConfig): void;
}
