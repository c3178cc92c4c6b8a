import type { RateLimitConfig, RateLimitTierConfig } from "../../config/schema";
import type { EventBus } from "../../events";
import type { Clock } from "../../ports";
import { policyValue } from "./headers";
import type {
  RateLimitDecision,
  RouteRateLimiterOptions,
  TierLimiter,
  TierLimits,
} from "./rate-limit.options";
import { SlidingWindowLimiter } from "./sliding-window";
import { TokenBucketLimiter } from "./token-bucket";

const DEFAULT_TIER = "default";

const UNLIMITED: RateLimitDecision = Object.freeze({
  allowed: true,
  limit: Number.POSITIVE_INFINITY,
  remaining: Number.POSITIVE_INFINITY,
  resetMs: 0,
  retryAfterMs: 0,
  policy: "",
  tier: DEFAULT_TIER,
});

interface TierEntry {
  config: RateLimitTierConfig;
  limiter: TierLimiter;
}

/**
 * Rate limits of one route: a limiter per tier, keyed by consumer. A consumer in a tier the
 * route does not list gets the "default" tier; a route without a "default" tier gives it its
 * strictest tier (lowest rate), so an unknown consumer never gets more than a known one.
 *
 * Adaptive mode lowers every tier's limits by a factor while the upstream struggles: each
 * `adapt` call (once a second) with p99 above `latencyP99Ms` or error rate above
 * `errorRatePercent` multiplies the factor by `stepFactor` (not below `minFactor`); each
 * healthy call doubles it back toward 1.
 */
export class RouteRateLimiter {
  readonly route: string;
  private config: RateLimitConfig;
  private readonly clock: Clock;
  private readonly events: EventBus | undefined;
  private tiers = new Map<string, TierEntry>();
  private fallbackTier = DEFAULT_TIER;
  private currentFactor = 1;

  constructor(opts: RouteRateLimiterOptions) {
    this.route = opts.route;
    this.config = opts.config;
    this.clock = opts.clock;
    this.events = opts.events;
    this.rebuild(opts.config);
  }

  /** Current adaptive factor (1 = the configured limits). */
  get factor(): number {
    return this.currentFactor;
  }

  /** Synchronous for token buckets; a promise for the store-backed sliding window. */
  check(consumerKey: string, tier: string): RateLimitDecision | Promise<RateLimitDecision> {
    if (!this.config.enabled) return UNLIMITED;
    const entry = this.tiers.get(tier) ?? this.tiers.get(this.fallbackTier);
    if (entry === undefined) return UNLIMITED;
    const result = entry.limiter.check(consumerKey);
    if (result instanceof Promise) {
      // A shared store that fails must not take the route down with it: admit (fail open).
      return result.then(
        (d) => this.observe(consumerKey, d),
        () => UNLIMITED,
      );
    }
    return this.observe(consumerKey, result);
  }

  /** Feeds the upstream's health (about once a second); returns the factor now in force. */
  adapt(signal: { p99Ms: number; errorRatePercent: number }): number {
    const a = this.config.adaptive;
    if (!this.config.enabled || !a.enabled) return this.currentFactor;
    let because: string;
    let next: number;
    if (signal.p99Ms > a.latencyP99Ms || signal.errorRatePercent > a.errorRatePercent) {
      because =
        signal.p99Ms > a.latencyP99Ms
          ? `p99 ${Math.round(signal.p99Ms)}ms > ${a.latencyP99Ms}ms`
          : `error rate ${round(signal.errorRatePercent)}% > ${a.errorRatePercent}%`;
      next = Math.max(a.minFactor, round(this.currentFactor * a.stepFactor, 4));
    } else {
      because = "upstream healthy";
      next = Math.min(1, round(this.currentFactor * 2, 4));
    }
    if (next !== this.currentFactor) this.setFactor(next, because);
    return this.currentFactor;
  }

  /**
   * Applies a new config. Tiers that keep their algorithm and window keep their counters (new
   * limits apply at once); others start afresh. Turning adaptive mode off restores factor 1.
   */
  updateConfig(config: RateLimitConfig): void {
    const algorithmChanged = config.algorithm !== this.config.algorithm;
    this.config = config;
    if (algorithmChanged) this.tiers = new Map();
    if ((!config.enabled || !config.adaptive.enabled) && this.currentFactor !== 1) {
      this.setFactor(1, "adaptive limits off");
    }
    this.rebuild(config);
  }

  private observe(consumer: string, d: RateLimitDecision): RateLimitDecision {
    if (!d.allowed) {
      const events = this.events;
      if (events?.hasListeners) {
        events.emit({
          type: "ratelimit.rejected",
          at: this.clock.wallNow(),
          route: this.route,
          consumer,
          tier: d.tier,
          limit: d.limit,
          retryAfterMs: d.retryAfterMs,
        });
      }
    }
    return d;
  }

  private setFactor(next: number, because: string): void {
    const from = this.currentFactor;
    this.currentFactor = next;
    for (const [name, entry] of this.tiers) {
      entry.limiter.setLimits(this.limitsFor(name, entry.config));
    }
    const events = this.events;
    if (events?.hasListeners) {
      events.emit({
        type: "ratelimit.adapted",
        at: this.clock.wallNow(),
        route: this.route,
        from,
        to: next,
        because,
      });
    }
  }

  private rebuild(config: RateLimitConfig): void {
    const next = new Map<string, TierEntry>();
    for (const [name, tierConfig] of Object.entries(config.tiers)) {
      const limits = this.limitsFor(name, tierConfig);
      const old = this.tiers.get(name);
      if (old && old.config.windowMs === tierConfig.windowMs) {
        old.limiter.setLimits(limits);
        next.set(name, { config: tierConfig, limiter: old.limiter });
      } else {
        next.set(name, { config: tierConfig, limiter: this.create(name, limits) });
      }
    }
    this.tiers = next;
    this.fallbackTier = next.has(DEFAULT_TIER) ? DEFAULT_TIER : strictest(config.tiers);
  }

  private create(tier: string, limits: TierLimits): TierLimiter {
    return this.config.algorithm === "token_bucket"
      ? new TokenBucketLimiter(limits, this.clock)
      : new SlidingWindowLimiter(limits, this.clock, `rl:${this.route}:${tier}`);
  }

  private limitsFor(tier: string, c: RateLimitTierConfig): TierLimits {
    const f = this.currentFactor;
    const limit = Math.max(1, Math.floor(c.limit * f));
    return {
      tier,
      limit,
      burst: Math.floor(c.burst * f),
      windowMs: c.windowMs,
      policy: policyValue(tier, limit, c.windowMs),
    };
  }
}

function strictest(tiers: Record<string, RateLimitTierConfig>): string {
  let best = DEFAULT_TIER;
  let bestRate = Number.POSITIVE_INFINITY;
  for (const [name, t] of Object.entries(tiers)) {
    const rate = t.limit / t.windowMs;
    if (rate < bestRate) {
      best = name;
      bestRate = rate;
    }
  }
  return best;
}

function round(x: number, digits = 1): number {
  const m = 10 ** digits;
  return Math.round(x * m) / m;
}
