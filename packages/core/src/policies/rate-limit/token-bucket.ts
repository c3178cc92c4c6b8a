import type { Clock } from "../../ports";
import type { RateLimitDecision, TierLimiter, TierLimits } from "./rate-limit.options";

interface Bucket {
  tokens: number;
  at: number;
}

/** Keys are swept for full (idle) buckets at most this often once the map is large. */
const SWEEP_ABOVE = 10_000;
/** Tolerance for the float sums of refills. */
const EPSILON = 1e-9;

/**
 * A token bucket per key: capacity `limit + burst`, refilled continuously at `limit` tokens per
 * `windowMs`, starting full. A consumer may spend its burst at once and then gets `limit` per
 * window; the burst comes back only while it asks for less than that.
 *
 * Hand-written rather than taken from rate-limiter-flexible: that library only counts fixed
 * windows. Its BurstyRateLimiter adds a second fixed-window pool of `burst` points, which lets a
 * steady client exceed `limit` by `burst` every burst window and refills on the window's
 * schedule instead of while the client is quiet — a different contract from a token bucket.
 * The bucket also runs synchronously on the injected Clock (no promise, no timer per key), so
 * the hot path stays cheap and tests are exact. A shared Redis-backed token bucket would need a
 * Lua script of its own behind the same port.
 */
export class TokenBucketLimiter implements TierLimiter {
  private limits: TierLimits;
  private capacity: number;
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(
    limits: TierLimits,
    private readonly clock: Clock,
  ) {
    this.limits = limits;
    this.capacity = limits.limit + limits.burst;
  }

  /**
   * New limits apply at once: a larger capacity is granted to every consumer now (as raising a
   * fixed-window limit would), a smaller one clamps saved tokens on their next request.
   */
  setLimits(limits: TierLimits): void {
    const grow = limits.limit + limits.burst - this.capacity;
    this.limits = limits;
    this.capacity = limits.limit + limits.burst;
    if (grow > 0) for (const b of this.buckets.values()) b.tokens += grow;
  }

  consume(key: string, points = 1): Promise<RateLimitDecision> {
    return Promise.resolve(this.check(key, points));
  }

  check(key: string, points = 1): RateLimitDecision {
    const { limit, windowMs } = this.limits;
    const capacity = this.capacity;
    const now = this.clock.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= SWEEP_ABOVE) this.sweep(now);
      b = { tokens: capacity, at: now };
      this.buckets.set(key, b);
    } else if (now > b.at) {
      // Multiply before dividing so whole-token refills stay exact (200 ms × 5 / 1000 = 1).
      b.tokens = Math.min(capacity, b.tokens + ((now - b.at) * limit) / windowMs);
      b.at = now;
    } else if (b.tokens > capacity) {
      b.tokens = capacity; // the limits were lowered
    }
    const allowed = b.tokens + EPSILON >= points;
    if (allowed) b.tokens = Math.max(0, b.tokens - points);
    const tokens = b.tokens;
    return {
      allowed,
      limit,
      remaining: Math.floor(tokens + EPSILON),
      resetMs: Math.max(0, Math.ceil(((capacity - tokens) * windowMs) / limit - EPSILON)),
      retryAfterMs: allowed
        ? 0
        : points > capacity
          ? windowMs // can never fit; tell the client to slow down by a window
          : Math.max(1, Math.ceil(((points - tokens) * windowMs) / limit - EPSILON)),
      policy: this.limits.policy,
      tier: this.limits.tier,
    };
  }

  /** Number of consumers with a bucket (for tests and diagnostics). */
  get size(): number {
    return this.buckets.size;
  }

  /** Drops buckets that have refilled completely: a new bucket starts full anyway. */
  private sweep(now: number): void {
    const { limit, windowMs } = this.limits;
    if (now - this.lastSweep < windowMs) return;
    this.lastSweep = now;
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) * limit) / windowMs >= this.capacity) this.buckets.delete(key);
    }
  }
}
