/**
 * A request's deadline: set once when the request arrives (now + the route's total
 * timeout); every later step (backoff waits, bulkhead queueing, per-try timeouts, the
 * budget passed upstream) reads what is left of it.
 */
import type { Clock } from "../../ports";

export class Deadline {
  private constructor(
    private readonly clock: Clock,
    /** Monotonic ms (the clock's `now()`) at which the deadline passes. */
    readonly at: number,
    /** The total budget it started with, in ms. */
    readonly totalMs: number,
  ) {}

  static start(clock: Clock, totalMs: number): Deadline {
    return new Deadline(clock, clock.now() + totalMs, totalMs);
  }

  /** Milliseconds left, never negative. */
  remainingMs(): number {
    return Math.max(0, this.at - this.clock.now());
  }

  expired(): boolean {
    return this.clock.now() >= this.at;
  }
}

/** The timeout for one attempt: its own per-try limit or what is left of the deadline. */
export function attemptTimeoutMs(perTryMs: number, deadline: Deadline): number {
  return Math.min(perTryMs, deadline.remainingMs());
}
