import type { RateLimitConfig } from "../../config/schema";
import type { EventBus } from "../../events";
import type { Clock } from "../../ports";

/** Everything the gateway needs to answer 429 and to write the rate-limit headers. */
export interface RateLimitDecision {
  allowed: boolean;
  /** Requests allowed per window for this tier now (after the adaptive factor). */
  limit: number;
  /** Requests left before the next one is refused. */
  remaining: number;
  /** Time until the consumer's quota is whole again, in ms. */
  resetMs: number;
  /** Time until a refused request would be admitted, in ms (0 when allowed). */
  retryAfterMs: number;
  /** For the RateLimit-Policy header, e.g. `"default";q=100;w=1`; "" when limiting is off. */
  policy: string;
  /** The tier whose limits applied (an unknown tier resolves to "default"). */
  tier: string;
}

/**
 * One tier's limiter, keyed by consumer. Narrow on purpose: the in-memory limiters here can be
 * replaced by ones backed by a shared store (Redis through rate-limiter-flexible) when several
 * gateway instances must share counters.
 */
export interface RateLimiterPort {
  consume(key: string, points?: number): Promise<RateLimitDecision>;
}

/** The limits a tier limiter enforces, after the adaptive factor. */
export interface TierLimits {
  tier: string;
  limit: number;
  burst: number;
  windowMs: number;
  /** Precomputed RateLimit-Policy value. */
  policy: string;
}

/** A tier limiter the route limiter can drive: reconfigurable, and synchronous when it can be. */
export interface TierLimiter extends RateLimiterPort {
  check(key: string, points?: number): RateLimitDecision | Promise<RateLimitDecision>;
  setLimits(limits: TierLimits): void;
}

export interface RouteRateLimiterOptions {
  route: string;
  config: RateLimitConfig;
  clock: Clock;
  events?: EventBus;
  /** Where counters live. Only in-process memory for now. */
  store?: "memory";
}
