/**
 * What the gateway hands the pipeline and what it gets back. The pipeline never does I/O: the
 * gateway supplies `call`, which performs one attempt against one endpoint and resolves with
 * the classified outcome as soon as the response headers are in (or on error / timeout).
 */
import type { ErrorCode } from "../errors";
import type { Outcome } from "../outcome";
import type { BreakerPermit } from "../policies/circuit-breaker";
import type { RateLimitDecision } from "../policies/rate-limit";
import type { LiteAbortSignal } from "./abort";

export interface PipelineRequest {
  method: string;
  /** API key, else client IP: rate limit and bulkhead per-consumer caps key on it. */
  consumerKey: string;
  /** Rate-limit tier of the consumer ("default" when unknown). */
  tier: string;
  /** The method is idempotent or the request carries an Idempotency-Key, and its body can be replayed. */
  retryable: boolean;
  /** A stale cache entry is at hand to answer with when the upstream fails. */
  hasStale: boolean;
  /**
   * Aborts when the client goes away. A LiteAbortController's signal costs far less
   * per request than a Node AbortController's.
   */
  signal?: AbortSignal;
  /**
   * A successful attempt is recorded neither on its breaker nor on its endpoint's passive
   * outlier detection: what follows it decides (a WebSocket handshake's tunnel: an upstream
   * reset fails it, any other end passes it). The response result then carries the attempt's
   * unsettled breaker `permit`, which the caller must settle or release; the endpoint it
   * feeds through `EndpointSet.record`. Failures still count at once.
   */
  deferSuccess?: boolean;
  /**
   * With `deferSuccess`, a deferred success is left out of the SLIs too: the response result
   * carries the `sli` sample to record (through `SliRecorder.record`) with the outcome that
   * counts, once the caller knows it (an answer whose body its upstream cut off fails).
   */
  deferSli?: boolean;
}

export interface Attempt {
  /** 1-based. */
  attempt: number;
  upstream: string;
  endpoint: { readonly id: string; readonly url: string };
  /** min(per-try timeout, remaining deadline). */
  timeoutMs: number;
  /** Remaining request budget when the attempt starts, to pass upstream. */
  deadlineRemainingMs: number;
  /**
   * Aborts at the per-try timeout, at the deadline, or when the client aborts. A
   * {@link LiteAbortSignal}: usable wherever Node reads a signal's `aborted` and "abort"
   * listeners; `toAbortSignal()` gives a real one for APIs that check `instanceof`.
   */
  signal: LiteAbortSignal;
}

/**
 * The result of one attempt, once response headers are in (or it failed). `call` must settle
 * soon after the attempt's signal aborts, reporting `outcome.kind === "timeout"` (classify
 * with `timedOut: signal.aborted`). A `call` that throws is treated as a connect error (or a
 * timeout when the attempt's signal had aborted).
 */
export interface AttemptResult<R> {
  outcome: Outcome;
  response?: R;
}

export type PipelineResult<R> =
  /** Success, client error, or a final failure response the gateway passes through. */
  | {
      type: "response";
      response: R;
      outcome: Outcome;
      attempts: number;
      upstream: string;
      endpoint: string;
      /** True when the response came from the route's fallback upstream. */
      fromFallback?: boolean;
      rateLimit?: RateLimitDecision;
      /**
       * With `deferSuccess`, on a success: the breaker permit of the attempt, not yet settled.
       * `record` it with the outcome that counts, or `release` it to count nothing.
       */
      permit?: BreakerPermit | undefined;
      /** With `deferSli`, on a deferred success: what to record in the SLIs once settled. */
      sli?: DeferredSli | undefined;
    }
  | {
      type: "fallback";
      source: "stale_cache" | "static";
      cause: string;
      staticResponse?: { status: number; headers: Record<string, string>; body: string };
      attempts: number;
      lastOutcome?: Outcome;
      rateLimit?: RateLimitDecision;
    }
  | {
      type: "rejected";
      code: ErrorCode;
      retryAfterMs?: number;
      rateLimit?: RateLimitDecision;
      attempts: number;
      lastOutcome?: Outcome;
      /** The client went away: nothing needs to be written. */
      clientAborted?: boolean;
    };

/** The policies every request passes through, outermost first. */
export const POLICY_ORDER = [
  "rate_limit",
  "deadline",
  "fallback",
  "retry",
  "circuit_breaker",
  "bulkhead",
  "per_try_timeout",
] as const;

/** A deferred success's SLI sample, less its outcome (see `PipelineRequest.deferSli`). */
export interface DeferredSli {
  latencyMs: number;
  retried: boolean;
  fallback: boolean;
}
