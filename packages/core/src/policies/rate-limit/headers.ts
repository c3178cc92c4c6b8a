import type { RateLimitDecision } from "./rate-limit.options";

/**
 * Response headers for a decision, per draft-ietf-httpapi-ratelimit-headers:
 * `RateLimit-Policy: "tier";q=<quota>;w=<window s>`, `RateLimit: "tier";r=<remaining>;t=<reset s>`,
 * plus `Retry-After` (seconds, at least 1) when the request was refused. Nothing when limiting
 * is off for the route.
 */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  if (decision.policy === "") return {};
  const headers: Record<string, string> = {
    "RateLimit-Policy": decision.policy,
    RateLimit: `"${decision.tier}";r=${decision.remaining};t=${Math.ceil(decision.resetMs / 1000)}`,
  };
  if (!decision.allowed) {
    headers["Retry-After"] = String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
  }
  return headers;
}

/**
 * The RateLimit-Policy value for a quota. The header counts whole seconds, so a sub-second
 * window is stated as the equivalent quota per second (10 per 100 ms → `q=100;w=1`).
 */
export function policyValue(tier: string, limit: number, windowMs: number): string {
  const w = Math.max(1, Math.round(windowMs / 1000));
  const q = Math.floor((limit * w * 1000) / windowMs);
  return `"${tier}";q=${q};w=${w}`;
}
