/**
 * Typed events emitted by the core and the gateway. Each event is one plain object with a
 * `type` discriminator; the store persists them as-is (type, at, route, upstream, payload).
 * An {@link EventBus} with no listeners costs one length check per emit.
 */
import type { OutcomeKind } from "./outcome";

export type BreakerState =
  "closed" | "open" | "half_open" | "forced_open" | "forced_closed" | "shadow";

export type BreakerTrigger =
  | "failure_rate"
  | "slow_call_rate"
  | "consecutive_failures"
  | "probe_failed"
  | "probes_succeeded"
  | "open_elapsed"
  | "forced"
  | "released"
  | "config_changed";

export interface BreakerReason {
  trigger: BreakerTrigger;
  /** Observed value that crossed the threshold (a percentage for rates, a count otherwise). */
  observed?: number;
  threshold?: number;
  /** Calls in the window when the decision was made. */
  calls?: number;
  /** Window description, e.g. "count:100" or "time:60000ms". */
  window?: string;
  /** Time the breaker stays open, in ms (for transitions to open). */
  openForMs?: number;
  /** Upstream Retry-After that lengthened the open time, in ms. */
  retryAfterMs?: number;
}

export type Mode = "normal" | "degraded" | "read_only";

interface Base {
  /** Wall-clock ms since the epoch. */
  at: number;
  route?: string;
  upstream?: string;
}

export type ResilienceEvent =
  | (Base & {
      type: "breaker.transition";
      upstream: string;
      from: BreakerState;
      to: BreakerState;
      reason: BreakerReason;
    })
  | (Base & { type: "breaker.shadow_trip"; upstream: string; reason: BreakerReason })
  | (Base & {
      type: "breaker.rejected";
      upstream: string;
      state: BreakerState;
      retryAfterMs: number;
    })
  | (Base & { type: "retry.scheduled"; attempt: number; delayMs: number; after: OutcomeKind })
  | (Base & { type: "retry.budget_exhausted"; active: number; retrying: number })
  | (Base & {
      type: "fallback.served";
      source: "stale_cache" | "fallback_upstream" | "static";
      after: string;
    })
  | (Base & {
      type: "ratelimit.rejected";
      consumer: string;
      tier: string;
      limit: number;
      retryAfterMs: number;
    })
  | (Base & { type: "ratelimit.adapted"; from: number; to: number; because: string })
  | (Base & {
      type: "bulkhead.rejected";
      reason: "queue_full" | "queue_timeout" | "consumer_limit";
    })
  | (Base & {
      type: "outlier.ejected";
      upstream: string;
      endpoint: string;
      reason: string;
      ejectionMs: number;
    })
  | (Base & { type: "outlier.restored"; upstream: string; endpoint: string })
  | (Base & {
      type: "health.changed";
      upstream: string;
      endpoint: string;
      healthy: boolean;
      reason: string;
    })
  | (Base & { type: "deadline.exceeded"; budgetMs: number })
  | (Base & {
      type: "slo.burn";
      route: string;
      longBurnRate: number;
      shortBurnRate: number;
      threshold: number;
      budgetRemaining: number;
    })
  | (Base & { type: "upstream.unavailable"; upstream: string; healthy: number; total: number })
  | (Base & { type: "config.applied"; revision: number })
  | (Base & { type: "config.refused"; revision: number; errors: string[] })
  | (Base & {
      type: "mode.changed";
      scope: "gateway" | "route";
      target: string;
      from: Mode;
      to: Mode;
    })
  | (Base & { type: "fault.injected"; kind: "delay" | "abort"; value: number })
  | (Base & {
      type: "runbook.step";
      runbook: string;
      runId: number;
      step: number;
      status: "running" | "done" | "failed";
      detail?: string;
    })
  | (Base & { type: "incident.opened"; incidentId: number; trigger: string })
  | (Base & { type: "incident.closed"; incidentId: number });

export type EventType = ResilienceEvent["type"];
export type EventOf<T extends EventType> = Extract<ResilienceEvent, { type: T }>;

export type Listener = (event: ResilienceEvent) => void;

/** A synchronous fan-out. Listeners must not throw; a throwing listener is isolated. */
export class EventBus {
  private listeners: Listener[] = [];

  get hasListeners(): boolean {
    return this.listeners.length > 0;
  }

  on(listener: Listener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  emit(event: ResilienceEvent): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) {
      try {
        ls[i]!(event);
      } catch {
        // A listener's failure must never reach the request path.
      }
    }
  }

  /** Emit lazily: the event object is only built when somebody listens. */
  emitLazy(build: () => ResilienceEvent): void {
    if (this.listeners.length > 0) this.emit(build());
  }
}
