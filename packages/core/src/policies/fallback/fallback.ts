import type { ErrorCode } from "../../errors";

export type FallbackCause =
  | "upstream_failed"
  | "breaker_open"
  | "bulkhead_full"
  | "timeout"
  | "deadline"
  | "no_endpoint"
  | "degraded";

export interface StaticResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface FallbackInput {
  cause: FallbackCause;
  /** A stale cache entry within `maxStaleMs` is at hand. */
  staleAvailable: boolean;
  /** The route's fallback upstream id, if configured. */
  fallbackUpstream?: string;
  /** False when the fallback upstream is known to be unusable (breaker open, no endpoint). */
  fallbackUpstreamAvailable?: boolean;
  staticResponse?: StaticResponse;
}

export type FallbackDecision =
  | { source: "stale_cache" }
  | { source: "fallback_upstream"; upstream: string }
  | { source: "static"; response: StaticResponse }
  /** Nothing to serve: answer with the problem+json for `code`. */
  | { source: "none"; code: ErrorCode };

/** The error each cause maps to when no fallback can answer (see errors.ts). */
export const FALLBACK_ERROR: Record<FallbackCause, ErrorCode> = {
  upstream_failed: "RG_UPSTREAM_UNAVAILABLE",
  breaker_open: "RG_BREAKER_OPEN",
  bulkhead_full: "RG_BULKHEAD_FULL",
  timeout: "RG_UPSTREAM_TIMEOUT",
  deadline: "RG_DEADLINE_EXCEEDED",
  no_endpoint: "RG_NO_HEALTHY_ENDPOINT",
  degraded: "RG_DEGRADED",
};

const STALE: FallbackDecision = Object.freeze({ source: "stale_cache" });

/**
 * Chooses what answers a request whose upstream call failed, in a fixed order: the stale cache
 * entry (the exact content the client asked for, only older) → the fallback upstream (a live
 * answer from a substitute) → the route's static response → nothing (problem+json). The
 * fallback upstream is skipped only when the caller knows it is unusable; an unknown
 * availability is treated as usable, since trying it costs one attempt.
 */
export function chooseFallback(input: FallbackInput): FallbackDecision {
  if (input.staleAvailable) return STALE;
  if (input.fallbackUpstream !== undefined && input.fallbackUpstreamAvailable !== false) {
    return { source: "fallback_upstream", upstream: input.fallbackUpstream };
  }
  if (input.staticResponse) return { source: "static", response: input.staticResponse };
  return { source: "none", code: FALLBACK_ERROR[input.cause] };
}
