/**
 * An Envoy-style retry budget, one per upstream: retries in flight may be at most
 * `percent`% of the requests in flight, rounded down, or `minConcurrent`, whichever is
 * larger (Envoy's max(min_retry_concurrency, ⌊budget_percent · active⌋)). Under a
 * total outage this caps the extra load retries add (≈ percent %), where a fixed
 * "3 attempts" would triple it.
 *
 * Protocol: `requestStarted`/`requestFinished` around every request; `tryStartRetry`
 * before a retry (the wait counts as part of it) and `retryFinished` once that retry's
 * attempt has finished.
 */
import type { RetryBudgetConfig } from "../../config/schema";

export interface RetryBudgetStats {
  /** Requests in flight. */
  active: number;
  /** Retries in flight (waiting or attempting). */
  retrying: number;
  /** Retries refused since the budget was created. */
  exhausted: number;
}

export class RetryBudget {
  private active = 0;
  private retrying = 0;
  private exhausted = 0;
  private cfg: RetryBudgetConfig;

  constructor(cfg: RetryBudgetConfig) {
    this.cfg = cfg;
  }

  requestStarted(): void {
    this.active++;
  }

  requestFinished(): void {
    if (this.active > 0) this.active--;
  }

  /** Reserve a retry; false (and counted as exhausted) when the budget is spent. */
  tryStartRetry(): boolean {
    if (this.retrying < this.limit()) {
      this.retrying++;
      return true;
    }
    this.exhausted++;
    return false;
  }

  retryFinished(): void {
    if (this.retrying > 0) this.retrying--;
  }

  /** Retries allowed in flight right now: a whole number. */
  limit(): number {
    return Math.max(this.cfg.minConcurrent, Math.floor((this.cfg.percent * this.active) / 100));
  }

  stats(): RetryBudgetStats {
    return { active: this.active, retrying: this.retrying, exhausted: this.exhausted };
  }

  /** New limits apply to the next retry; retries in flight are not cut short. */
  updateConfig(cfg: RetryBudgetConfig): void {
    this.cfg = cfg;
  }
}
