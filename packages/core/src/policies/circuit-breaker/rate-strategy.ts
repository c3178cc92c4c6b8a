import type { CircuitBreakerConfig } from "../../config/schema";
import type { BreakerReason } from "../../events";
import type { Outcome } from "../../outcome";
import type { BreakerWindowStats } from "../../snapshot";
import type { TripStrategy } from "./strategy";
import { createWindow, sameWindow, windowLabel } from "./sliding-window";
import type { SlidingWindow } from "./sliding-window";

/**
 * Opens when the failure rate or the slow-call rate over a sliding window reaches its
 * threshold, once the window holds at least `minimumCalls` calls (cockatiel's
 * SamplingBreaker, Resilience4j's rate thresholds). As in Resilience4j, a count window
 * smaller than `minimumCalls` needs only its size: it can never hold more. A call is slow when it took longer
 * than `slowCallDurationMs`; a call can be both slow and failed.
 */
export class RateStrategy implements TripStrategy {
  private window: SlidingWindow;
  private label: string;
  private config: CircuitBreakerConfig;

  constructor(config: CircuitBreakerConfig) {
    this.config = config;
    this.window = createWindow(config.window);
    this.label = windowLabel(config.window);
  }

  /** Whether results need the current time (a count window does not; reading the clock costs). */
  get usesTime(): boolean {
    return this.window.config.type === "time";
  }

  get windowLabel(): string {
    return this.label;
  }

  /** Calls the window must hold before rates count: capped at a count window's size. */
  private get minimumCalls(): number {
    const c = this.config;
    return c.window.type === "count" ? Math.min(c.minimumCalls, c.window.size) : c.minimumCalls;
  }

  onResult(outcome: Outcome, now: number): BreakerReason | undefined {
    const c = this.config;
    this.window.record(outcome.failure, outcome.durationMs > c.slowCallDurationMs, now);
    const t = this.window.totals(now);
    if (t.calls < this.minimumCalls) return undefined;
    // A rate of 0 % never trips, even against a 0 % threshold: an idle, healthy window
    // must not open the breaker.
    if (t.failures > 0) {
      const rate = (t.failures * 100) / t.calls;
      if (rate >= c.failureRateThreshold) {
        return this.reason("failure_rate", rate, c.failureRateThreshold, t.calls);
      }
    }
    if (t.slowCalls > 0) {
      const rate = (t.slowCalls * 100) / t.calls;
      if (rate >= c.slowCallRateThreshold) {
        return this.reason("slow_call_rate", rate, c.slowCallRateThreshold, t.calls);
      }
    }
    return undefined;
  }

  /** Window figures for snapshots; rates are null until `minimumCalls` calls were seen. */
  stats(now: number, consecutiveFailures: number): BreakerWindowStats {
    const t = this.window.totals(now);
    const enough = t.calls >= this.minimumCalls && t.calls > 0;
    return {
      calls: t.calls,
      failures: t.failures,
      slowCalls: t.slowCalls,
      failureRate: enough ? round2((t.failures * 100) / t.calls) : null,
      slowCallRate: enough ? round2((t.slowCalls * 100) / t.calls) : null,
      consecutiveFailures,
    };
  }

  reset(): void {
    this.window.reset();
  }

  /** Thresholds apply at once; the recorded calls survive unless the window changes shape. */
  updateConfig(config: CircuitBreakerConfig): void {
    if (!sameWindow(this.config.window, config.window)) {
      this.window = createWindow(config.window);
      this.label = windowLabel(config.window);
    }
    this.config = config;
  }

  private reason(
    trigger: "failure_rate" | "slow_call_rate",
    rate: number,
    threshold: number,
    calls: number,
  ): BreakerReason {
    return { trigger, observed: round2(rate), threshold, calls, window: this.label };
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
