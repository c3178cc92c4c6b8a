import { RateLimiterMemory } from "rate-limiter-flexible";
import type { RateLimiterAbstract } from "rate-limiter-flexible";
import type { Clock } from "../../ports";
import type { RateLimitDecision, TierLimiter, TierLimits } from "./rate-limit.options";

/** The counter store: rate-limiter-flexible's memory limiter now, its Redis one later. */
export type WindowCounterStore = Pick<RateLimiterAbstract, "get" | "consume" | "reward">;

const EPSILON = 1e-9;

/**
 * Sliding-window limit as the weighted two-window approximation (the one Cloudflare and
 * nginx-style limiters use): rate-limiter-flexible counts fixed windows, and the estimate at a
 * moment `f` (0..1) into the current window is `previous × (1 − f) + current`. A request is
 * admitted when that estimate, counting it, stays ≤ `limit`. It assumes the previous window's
 * requests were spread evenly; it is exact at window boundaries and never lets a burst at the
 * end of one window plus the start of the next reach 2 × limit. `burst` does not apply.
 *
 * Time: window numbers come from the injected Clock's wall time (shared stores need every
 * gateway instance to agree on window boundaries), and each counter is keyed by its window, so
 * correctness never depends on the store's own clock. rate-limiter-flexible's memory store
 * reads Date.now and sets a timer per key only to expire counters two windows (plus a second)
 * later; with a FakeClock in tests no counter expires early, so results are exact without
 * faking timers.
 *
 * Refused requests are taken back out of the count (`reward`), so a client hammering a closed
 * limit does not keep it closed. The read of the previous window and the increment of the
 * current one are separate store calls; the previous window no longer changes, so the race is
 * limited to requests landing exactly on a boundary.
 */
export class SlidingWindowLimiter implements TierLimiter {
  private limits: TierLimits;
  private store: WindowCounterStore;

  constructor(
    limits: TierLimits,
    private readonly clock: Clock,
    keyPrefix: string,
    store?: WindowCounterStore,
  ) {
    this.limits = limits;
    this.store = store ?? SlidingWindowLimiter.memoryStore(keyPrefix, limits.windowMs);
  }

  /** rate-limiter-flexible's in-memory store, used as plain counters with expiry. */
  static memoryStore(keyPrefix: string, windowMs: number): WindowCounterStore {
    return new RateLimiterMemory({
      keyPrefix,
      // The limit is decided here, so the store itself must never refuse.
      points: Number.MAX_SAFE_INTEGER,
      duration: Math.ceil((2 * windowMs) / 1000) + 1,
    });
  }

  setLimits(limits: TierLimits): void {
    this.limits = limits;
  }

  check(key: string, points = 1): Promise<RateLimitDecision> {
    return this.consume(key, points);
  }

  async consume(key: string, points = 1): Promise<RateLimitDecision> {
    const { limit, windowMs } = this.limits;
    const now = this.clock.wallNow();
    const index = Math.floor(now / windowMs);
    const intoWindow = now - index * windowMs;
    const weight = 1 - intoWindow / windowMs;
    const currentKey = `${key}:${index}`;
    const [prevRes, curRes] = await Promise.all([
      this.store.get(`${key}:${index - 1}`),
      this.store.consume(currentKey, points),
    ]);
    const previous = prevRes?.consumedPoints ?? 0;
    let current = curRes.consumedPoints;
    const estimate = previous * weight + current;
    const allowed = estimate <= limit + EPSILON;
    if (!allowed) {
      current -= points;
      // A refused request does not count; a store failure here only makes the limit stricter.
      this.store.reward(currentKey, points).catch(() => undefined);
    }
    const used = previous * weight + current;
    const toWindowEnd = windowMs - intoWindow;
    return {
      allowed,
      limit,
      remaining: Math.max(0, Math.floor(limit - used + EPSILON)),
      resetMs: toWindowEnd,
      retryAfterMs: allowed
        ? 0
        : retryAfter(previous, current, points, limit, intoWindow / windowMs, windowMs),
      policy: this.limits.policy,
      tier: this.limits.tier,
    };
  }
}

/**
 * Time until `points` more fit: first while the previous window's weight fades in this one,
 * else in the next window, where this window becomes the one fading.
 */
function retryAfter(
  previous: number,
  current: number,
  points: number,
  limit: number,
  f: number,
  windowMs: number,
): number {
  if (points > limit) return windowMs;
  const room = limit - current - points;
  if (room >= 0 && previous > 0) {
    // previous × (1 − f') ≤ room  ⇔  f' ≥ 1 − room / previous
    const fNeeded = 1 - room / previous;
    return Math.max(1, Math.ceil((fNeeded - f) * windowMs - EPSILON));
  }
  // In the next window: current × (1 − g) + points ≤ limit
  const g = current > 0 ? Math.max(0, 1 - (limit - points) / current) : 0;
  return Math.max(1, Math.ceil((1 - f + g) * windowMs - EPSILON));
}
