/**
 * One route's resilience pipeline. The order, outermost first, is fixed here and only here:
 *
 *   rate limit → deadline → fallback → retry → circuit breaker → bulkhead → per-try timeout → call
 *
 * - rate limit: a rejected consumer never costs the upstream anything;
 * - deadline: one budget for the whole request, retries and backoff included;
 * - fallback: answers once everything inside it has failed (stale cache → fallback upstream →
 *   static response → problem);
 * - retry: each attempt picks an endpoint not tried yet and passes breaker, bulkhead and timeout
 *   again; an open breaker ends retrying;
 * - circuit breaker and bulkhead guard the upstream (the breaker first, so a shed call never
 *   holds a bulkhead slot);
 * - per-try timeout: min(perTryMs, remaining deadline), as the attempt's AbortSignal.
 *
 * A pipeline is built once per route and config revision and shared by every request; all state
 * it touches lives in long-lived runtime objects (upstream breakers, bulkheads, endpoint sets,
 * retry budgets, rate limiters, SLI series).
 */
import type { RetryConfig, RouteConfig, TimeoutsConfig } from "../config/schema";
import type { EventBus } from "../events";
import { classify, failureStatusMatcher, type Outcome, type OutcomeKind } from "../outcome";
import type { BreakerPermit, CircuitBreaker } from "../policies/circuit-breaker";
import { Deadline } from "../policies/deadline";
import { FALLBACK_ERROR, chooseFallback, type FallbackCause } from "../policies/fallback";
import type { RateLimitDecision, RouteRateLimiter } from "../policies/rate-limit";
import { decideRetry } from "../policies/retry";
import type { Clock, Random } from "../ports";
import { LiteAbortSignal } from "./abort";
import { TimeoutQueue } from "./timeout-queue";
import type { SliSeries } from "../sli/recorder";
import type { TrafficShift } from "./shift";
import type { Attempt, AttemptResult, DeferredSli, PipelineRequest, PipelineResult } from "./types";
import type { UpstreamRuntime } from "./upstream-runtime";

/** One upstream as a route sees it: the upstream's state, the route's breaker, its SLI series. */
export interface UpstreamTarget {
  upstream: UpstreamRuntime;
  breaker: CircuitBreaker;
  sli: SliSeries;
}

export interface RoutePipelineParts {
  routeId: string;
  route: RouteConfig;
  primary: UpstreamTarget;
  shift?: { target: UpstreamTarget; state: TrafficShift };
  fallback?: UpstreamTarget;
  rateLimiter?: RouteRateLimiter;
  clock: Clock;
  random: Random;
  events: EventBus;
}

type Call<R> = (a: Attempt) => Promise<AttemptResult<R>>;

const PER_TRY_TIMEOUT = new DOMException("per-try timeout", "TimeoutError");

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown }).then === "function";
}

/**
 * The breaker refuses calls now. Reads the open time, not just the state: a breaker only
 * leaves open inside tryAcquire, so one whose open time has elapsed must count as closed
 * here or nothing would ever probe it (a fallback upstream is only tried when this is false).
 */
function isOpen(breaker: CircuitBreaker): boolean {
  return breaker.isRefusing();
}

/** Per-request state of the attempts against one upstream. */
class Run<R> {
  attempts = 0;
  upstream = "";
  endpoint = "";
  lastOutcome: Outcome | undefined = undefined;
  /** The last attempt's response, still undiscarded. */
  response: R | undefined = undefined;
  /** Why no attempt could be made or completed, when it was not the outcome itself. */
  cause: FallbackCause | undefined = undefined;
  retryAfterMs: number | undefined = undefined;
  aborted = false;
  /** The successful attempt's breaker permit, left unsettled for the caller (deferSuccess). */
  permit: BreakerPermit | undefined = undefined;

  /** The final answer is usable as is (success, client error, or a non-failure 429). */
  get succeeded(): boolean {
    return this.cause === undefined && !this.aborted && this.lastOutcome?.failure === false;
  }
}

export class RoutePipeline {
  readonly routeId: string;
  readonly route: RouteConfig;
  /** Statuses this route counts as upstream failures: pass to `classify`. */
  readonly isFailureStatus: (status: number) => boolean;
  private readonly primary: UpstreamTarget;
  private readonly shift: { target: UpstreamTarget; state: TrafficShift } | undefined;
  private readonly fallbackTarget: UpstreamTarget | undefined;
  private readonly rateLimiter: RouteRateLimiter | undefined;
  private readonly timeouts: TimeoutsConfig;
  private readonly retry: RetryConfig;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly events: EventBus;
  private readonly timeoutQueue: TimeoutQueue;

  constructor(p: RoutePipelineParts) {
    this.routeId = p.routeId;
    this.route = p.route;
    this.isFailureStatus = failureStatusMatcher(p.route.failureStatuses);
    this.primary = p.primary;
    this.shift = p.shift;
    this.fallbackTarget = p.fallback;
    this.rateLimiter = p.rateLimiter;
    this.timeouts = p.route.timeouts;
    this.retry = p.route.retry;
    this.clock = p.clock;
    this.random = p.random;
    this.events = p.events;
    this.timeoutQueue = new TimeoutQueue(p.clock, PER_TRY_TIMEOUT);
  }

  /** Upstream the primary attempts go to for the next request (traffic shift applied). */
  private pickTarget(): UpstreamTarget {
    const shift = this.shift;
    if (shift === undefined) return this.primary;
    const percent = shift.state.percent(this.clock.now());
    return percent > 0 && this.random.next() * 100 < percent ? shift.target : this.primary;
  }

  async execute<R>(
    req: PipelineRequest,
    call: Call<R>,
    discard: (r: R) => void,
  ): Promise<PipelineResult<R>> {
    // Rate limit.
    let rateLimit: RateLimitDecision | undefined;
    if (this.rateLimiter !== undefined) {
      const d = this.rateLimiter.check(req.consumerKey, req.tier);
      rateLimit = isPromise(d) ? await d : d;
      if (!rateLimit.allowed) {
        // Answered at once, without touching the upstream.
        this.primary.sli.recordLimited();
        return {
          type: "rejected",
          code: "RG_RATE_LIMITED",
          retryAfterMs: rateLimit.retryAfterMs,
          rateLimit,
          attempts: 0,
        };
      }
    }

    // Deadline.
    const deadline = Deadline.start(this.clock, this.timeouts.totalMs);
    // Latencies count from here (saves a clock read on the hot path).
    const started = deadline.at - this.timeouts.totalMs;

    // Retry (with breaker, bulkhead and per-try timeout inside).
    const target = this.pickTarget();
    const run = new Run<R>();
    await this.attempts(target, req, deadline, call, discard, this.retry.maxAttempts, run);
    const retried = run.attempts > 1;

    if (run.aborted) return this.aborted(run, target, started, discard);
    if (run.succeeded) {
      const sli = this.successSli(target.sli, req, run, started, retried, false);
      return {
        type: "response",
        response: run.response as R,
        outcome: run.lastOutcome!,
        attempts: run.attempts,
        upstream: run.upstream,
        endpoint: run.endpoint,
        rateLimit,
        permit: run.permit,
        sli,
      };
    }

    // Fallback.
    return this.fallback(req, deadline, call, discard, target, run, started, rateLimit);
  }

  /**
   * A success in the SLIs: recorded in `series` now, or, when the caller settles it (a
   * deferred success with deferSli), handed back as the sample to record then.
   */
  private successSli<R>(
    series: SliSeries,
    req: PipelineRequest,
    run: Run<R>,
    started: number,
    retried: boolean,
    fallback: boolean,
  ): DeferredSli | undefined {
    const latencyMs = this.clock.now() - started;
    if (req.deferSli && run.permit) return { latencyMs, retried, fallback };
    series.record(run.lastOutcome!.kind, latencyMs, retried, fallback);
    return undefined;
  }

  private async fallback<R>(
    req: PipelineRequest,
    deadline: Deadline,
    call: Call<R>,
    discard: (r: R) => void,
    target: UpstreamTarget,
    run: Run<R>,
    started: number,
    rateLimit: RateLimitDecision | undefined,
  ): Promise<PipelineResult<R>> {
    const cause = this.causeOf(run, deadline);
    if (cause === "deadline" && this.events.hasListeners)
      this.events.emit({
        type: "deadline.exceeded",
        at: this.clock.wallNow(),
        route: this.routeId,
        upstream: target.upstream.id,
        budgetMs: this.timeouts.totalMs,
      });

    const fb = this.fallbackTarget;
    const staticResponse = this.route.fallback?.static;
    let decision = chooseFallback({
      cause,
      staleAvailable: req.hasStale,
      ...(fb ? { fallbackUpstream: fb.upstream.id } : {}),
      fallbackUpstreamAvailable:
        fb !== undefined &&
        fb.upstream !== target.upstream &&
        !isOpen(fb.breaker) &&
        deadline.remainingMs() > 0,
      ...(staticResponse ? { staticResponse } : {}),
    });
    const lastKind: OutcomeKind | undefined = run.lastOutcome?.kind;
    const retried = run.attempts > 1;

    if (decision.source === "fallback_upstream" && fb) {
      this.discard(run, discard);
      const second = new Run<R>();
      await this.attempts(fb, req, deadline, call, discard, 1, second);
      const attempts = run.attempts + second.attempts;
      if (second.aborted) return this.aborted(second, fb, started, discard);
      if (second.succeeded) {
        this.served("fallback_upstream", cause, target);
        const sli = this.successSli(fb.sli, req, second, started, retried, true);
        return {
          type: "response",
          response: second.response as R,
          outcome: second.lastOutcome!,
          attempts,
          upstream: second.upstream,
          endpoint: second.endpoint,
          fromFallback: true,
          rateLimit,
          permit: second.permit,
          sli,
        };
      }
      // The fallback upstream failed too: static response, or its failure passes through.
      run.attempts = attempts;
      decision = chooseFallback({
        cause,
        staleAvailable: false,
        fallbackUpstreamAvailable: false,
        ...(staticResponse ? { staticResponse } : {}),
      });
      if (decision.source === "none" && second.response !== undefined) {
        fb.sli.record(second.lastOutcome!.kind, this.clock.now() - started, retried);
        return {
          type: "response",
          response: second.response,
          outcome: second.lastOutcome!,
          attempts,
          upstream: second.upstream,
          endpoint: second.endpoint,
          fromFallback: true,
          rateLimit,
        };
      }
      if (second.response !== undefined) discard(second.response);
      if (second.lastOutcome) run.lastOutcome = second.lastOutcome;
    }

    if (decision.source === "stale_cache" || decision.source === "static") {
      this.discard(run, discard);
      this.served(decision.source, cause, target);
      target.sli.record(lastKind, this.clock.now() - started, retried, true);
      return {
        type: "fallback",
        source: decision.source,
        cause,
        ...(decision.source === "static" ? { staticResponse: decision.response } : {}),
        attempts: run.attempts,
        ...(run.lastOutcome ? { lastOutcome: run.lastOutcome } : {}),
        rateLimit,
      };
    }

    // No fallback: an upstream failure response passes through, otherwise a problem.
    if (run.response !== undefined && run.lastOutcome !== undefined) {
      target.sli.record(run.lastOutcome.kind, this.clock.now() - started, retried);
      return {
        type: "response",
        response: run.response,
        outcome: run.lastOutcome,
        attempts: run.attempts,
        upstream: run.upstream,
        endpoint: run.endpoint,
        rateLimit,
      };
    }
    // Refused before any attempt completed (breaker, bulkhead, no endpoint): a rejection;
    // otherwise the last transport failure (connect error, timeout) is the outcome.
    target.sli.record(
      run.cause === undefined ? lastKind : undefined,
      this.clock.now() - started,
      retried,
    );
    return {
      type: "rejected",
      code: FALLBACK_ERROR[cause],
      ...(run.retryAfterMs !== undefined ? { retryAfterMs: run.retryAfterMs } : {}),
      attempts: run.attempts,
      ...(run.lastOutcome ? { lastOutcome: run.lastOutcome } : {}),
      rateLimit,
    };
  }

  private causeOf<R>(run: Run<R>, deadline: Deadline): FallbackCause {
    if (run.cause !== undefined) return run.cause;
    const kind = run.lastOutcome?.kind;
    if (kind === "timeout") return deadline.expired() ? "deadline" : "timeout";
    return "upstream_failed";
  }

  private served(
    source: "stale_cache" | "fallback_upstream" | "static",
    cause: FallbackCause,
    target: UpstreamTarget,
  ): void {
    if (this.events.hasListeners)
      this.events.emit({
        type: "fallback.served",
        at: this.clock.wallNow(),
        route: this.routeId,
        upstream: target.upstream.id,
        source,
        after: cause,
      });
  }

  private discard<R>(run: Run<R>, discard: (r: R) => void): void {
    if (run.response !== undefined) {
      const r = run.response;
      run.response = undefined;
      discard(r);
    }
  }

  private aborted<R>(
    run: Run<R>,
    target: UpstreamTarget,
    started: number,
    discard: (r: R) => void,
  ): PipelineResult<R> {
    this.discard(run, discard);
    // The client left: counted like nginx's 499, a client-side end that burns no budget.
    target.sli.record("client_error", this.clock.now() - started, run.attempts > 1);
    return {
      type: "rejected",
      code: "RG_REQUEST_TIMEOUT",
      attempts: run.attempts,
      clientAborted: true,
      ...(run.lastOutcome ? { lastOutcome: run.lastOutcome } : {}),
    };
  }

  /**
   * The retry loop against one upstream: endpoint → breaker → bulkhead → per-try timeout →
   * call, then record the outcome and decide whether to go again.
   */
  private async attempts<R>(
    t: UpstreamTarget,
    req: PipelineRequest,
    deadline: Deadline,
    call: Call<R>,
    discard: (r: R) => void,
    maxAttempts: number,
    run: Run<R>,
  ): Promise<void> {
    const up = t.upstream;
    const budget = up.retryBudget;
    const retryConfig =
      maxAttempts === this.retry.maxAttempts ? this.retry : { ...this.retry, maxAttempts };
    let tried: Set<string> | undefined;
    let retrying = false;
    run.upstream = up.id;
    budget.requestStarted();
    try {
      for (let attempt = 1; ; attempt++) {
        if (req.signal?.aborted) {
          run.aborted = true;
          return;
        }
        // The first attempt starts right after the deadline did; later ones after a backoff
        // that decideRetry kept inside it. The per-try timeout below is the real check.
        if (attempt > 1 && deadline.expired()) {
          run.cause = "deadline";
          return;
        }
        const endpoint =
          up.endpoints.pick(tried) ?? (tried !== undefined ? up.endpoints.pick() : undefined);
        if (endpoint === undefined) {
          run.cause = "no_endpoint";
          return;
        }
        const admission = t.breaker.tryAcquire();
        if (!admission.ok) {
          run.cause = "breaker_open";
          run.retryAfterMs = admission.retryAfterMs;
          return;
        }
        // Queued, it waits at most what is left of the deadline.
        let slot = up.bulkhead.acquire(req.consumerKey, req.signal, deadline.remainingMs());
        if (isPromise(slot)) slot = await slot;
        if (!slot.ok) {
          admission.release();
          if (slot.reason === "aborted") run.aborted = true;
          else if (slot.reason === "deadline") run.cause = "deadline";
          else run.cause = "bulkhead_full";
          return;
        }
        if (req.signal?.aborted) {
          // The client left while it waited, in the same turn its slot came free: the abort
          // found no waiter to remove, so give the slot and the permit back here.
          slot.release();
          admission.release();
          run.aborted = true;
          return;
        }
        // attemptTimeoutMs, with the remaining budget read once for the whole attempt.
        const remaining = deadline.remainingMs();
        const timeoutMs = Math.min(this.timeouts.perTryMs, remaining);
        if (timeoutMs <= 0) {
          // The bulkhead queue ate the rest of the budget.
          slot.release();
          admission.release();
          run.cause = "deadline";
          return;
        }

        run.attempts = attempt;
        run.endpoint = endpoint.id;

        // Per-try timeout and call. A light signal: a Node AbortController per attempt would
        // cost more than the whole pipeline.
        const signal = new LiteAbortSignal();
        const timer = this.timeoutQueue.add(timeoutMs, signal, deadline.at - remaining);
        const client = req.signal;
        const onClientAbort = client ? () => signal._abort(client.reason) : undefined;
        if (client && onClientAbort) {
          // A listener added to an already-aborted signal never fires.
          if (client.aborted) onClientAbort();
          else client.addEventListener("abort", onClientAbort, { once: true });
        }
        up.endpoints.onStart(endpoint.id);
        let result: AttemptResult<R>;
        try {
          result = await call({
            attempt,
            upstream: up.id,
            endpoint,
            timeoutMs,
            deadlineRemainingMs: remaining,
            signal,
          });
        } catch (e) {
          result = { outcome: this.thrown(e, signal.aborted, deadline.at - remaining) };
        } finally {
          this.timeoutQueue.cancel(timer);
          if (client && onClientAbort) client.removeEventListener("abort", onClientAbort);
          up.endpoints.onFinish(endpoint.id);
        }
        slot.release();
        const outcome = result.outcome;
        if (req.signal?.aborted) {
          // A client that left says nothing about the upstream's health.
          admission.release();
          run.response = result.response;
          run.aborted = true;
          return;
        }
        if (outcome.kind === "success" && req.deferSuccess) run.permit = admission;
        else {
          admission.record(outcome);
          up.endpoints.record(endpoint.id, outcome);
        }
        if (retrying) {
          budget.retryFinished();
          retrying = false;
        }
        run.lastOutcome = outcome;
        run.response = result.response;
        if (outcome.kind === "success" || outcome.kind === "client_error") return;

        const decision = decideRetry({
          attempt,
          outcome,
          config: retryConfig,
          retryable: req.retryable,
          deadlineRemainingMs: deadline.remainingMs(),
          breakerOpen: isOpen(t.breaker),
          budget,
          random: this.random,
        });
        if (!decision.retry) {
          if (decision.reason === "budget_exhausted" && this.events.hasListeners) {
            const s = budget.stats();
            this.events.emit({
              type: "retry.budget_exhausted",
              at: this.clock.wallNow(),
              route: this.routeId,
              upstream: up.id,
              active: s.active,
              retrying: s.retrying,
            });
          }
          return;
        }
        retrying = true;
        if (this.events.hasListeners)
          this.events.emit({
            type: "retry.scheduled",
            at: this.clock.wallNow(),
            route: this.routeId,
            upstream: up.id,
            attempt: attempt + 1,
            delayMs: decision.delayMs,
            after: outcome.kind,
          });
        this.discard(run, discard);
        (tried ??= new Set()).add(endpoint.id);
        if (decision.delayMs > 0) await this.sleep(decision.delayMs, req.signal);
      }
    } finally {
      if (retrying) budget.retryFinished();
      budget.requestFinished();
    }
  }

  /** The outcome of a `call` that threw instead of reporting one. */
  private thrown(e: unknown, timedOut: boolean, attemptStart: number): Outcome {
    const code = (e as { code?: unknown } | null)?.code;
    return classify({
      timedOut,
      durationMs: this.clock.now() - attemptStart,
      ...(typeof code === "string" ? { errorCode: code } : {}),
    });
  }

  /** Backoff wait on the clock; ends early when the client aborts. */
  private sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        cancel();
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const cancel = this.clock.setTimer(ms, done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
