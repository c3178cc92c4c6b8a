export { RouteRateLimiter } from "./rate-limit";
export { TokenBucketLimiter } from "./token-bucket";
export { SlidingWindowLimiter } from "./sliding-window";
export type { WindowCounterStore } from "./sliding-window";
export { policyValue, rateLimitHeaders } from "./headers";
export type {
  RateLimitDecision,
  RateLimiterPort,
  RouteRateLimiterOptions,
  TierLimiter,
  TierLimits,
} from "./rate-limit.options";
