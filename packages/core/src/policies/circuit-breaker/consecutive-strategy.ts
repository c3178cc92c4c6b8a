import type { CircuitBreakerConfig } from "../../config/schema";
import type { BreakerReason } from "../../events";
import type { Outcome } from "../../outcome";
import type { TripStrategy } from "./strategy";

/** Opens after `consecutiveFailures` failures in a row (cockatiel's ConsecutiveBreaker). 0 = off. */
export class ConsecutiveStrategy implements TripStrategy {
  private count = 0;
  private threshold: number;

  constructor(config: CircuitBreakerConfig) {
    this.threshold = config.consecutiveFailures;
  }

  get consecutiveFailures(): number {
    return this.count;
  }

  onResult(outcome: Outcome): BreakerReason | undefined {
    if (!outcome.failure) {
      this.count = 0;
      return undefined;
    }
    this.count++;
    if (this.threshold > 0 && this.count >= this.threshold) {
      return {
        trigger: "consecutive_failures",
        observed: this.count,
        threshold: this.threshold,
        calls: this.count,
      };
    }
    return undefined;
  }

  reset(): void {
    this.count = 0;
  }

  updateConfig(config: CircuitBreakerConfig): void {
    this.threshold = config.consecutiveFailures;
  }
}
