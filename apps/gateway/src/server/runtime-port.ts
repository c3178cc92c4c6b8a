/**
 * The slice of the core's ResilienceRuntime the gateway uses, so the request path and the
 * telemetry can be exercised with any runtime that has this shape.
 */
import type { Config, ErrorCode, InstanceSnapshot, Outcome, SliBucket, SliSample } from "@rg/core";

export interface RateLimitDecisionLike {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetMs: number;
  retryAfterMs: number;
  policy: string;
  tier: string;
}

export interface PipelineRequestLike {
  method: string;
  consumerKey: string;
  tier: string;
  retryable: boolean;
  hasStale: boolean;
  signal?: AbortSignal;
}

export interface AttemptLike {
  attempt: number;
  upstream: string;
  endpoint: { readonly id: string; readonly url: string };
  timeoutMs: number;
  deadlineRemainingMs: number;
  signal: AbortSignal;
}

export type PipelineResultOf<R> =
  | {
      type: "response";
      response: R;
      outcome: Outcome;
      attempts: number;
      upstream: string;
      endpoint: string;
      fromFallback?: boolean;
      rateLimit?: RateLimitDecisionLike;
    }
  | {
      type: "fallback";
      source: "stale_cache" | "static";
      cause: string;
      staticResponse?: { status: number; headers: Record<string, string>; body: string };
      attempts: number;
      lastOutcome?: Outcome;
      rateLimit?: RateLimitDecisionLike;
    }
  | {
      type: "rejected";
      code: ErrorCode;
      retryAfterMs?: number;
      rateLimit?: RateLimitDecisionLike;
      attempts: number;
      lastOutcome?: Outcome;
      clientAborted?: boolean;
    };

export interface PipelineLike {
  execute<R>(
    req: PipelineRequestLike,
    call: (a: AttemptLike) => Promise<{ outcome: Outcome; response?: R }>,
    discard: (r: R) => void,
  ): Promise<PipelineResultOf<R>>;
}

export interface HealthTargetLike {
  recordHealthCheck(id: string, passed: boolean, detail: string): void;
  healthCheckIntervalMs(id: string): number;
}

export interface RuntimePort {
  apply(config: Config): void;
  pipeline(routeId: string): PipelineLike | undefined;
  snapshot(): Pick<InstanceSnapshot, "upstreams" | "routes">;
  sli: {
    drain(beforeWallMs: number): SliBucket[];
    record(route: string, upstream: string, sample: SliSample): void;
  };
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export function isIdempotentMethod(method: string): boolean {
  return IDEMPOTENT.has(method);
}

export function rateLimitHeaders(d: RateLimitDecisionLike): Record<string, string> {
  const t = Math.max(0, Math.ceil(d.resetMs / 1000));
  const h: Record<string, string> = {
    "ratelimit-policy": d.policy,
    ratelimit: `"${d.tier}";r=${d.remaining};t=${t}`,
  };
  if (!d.allowed) h["retry-after"] = String(Math.max(1, Math.ceil(d.retryAfterMs / 1000)));
  return h;
}
