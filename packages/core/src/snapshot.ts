/**
 * Live state of one gateway instance, written to the store every second and read by the
 * dashboard. Produced from the policies' own `snapshot()` methods.
 */
import type { CircuitBreakerConfig, ModeName } from "./config/schema";
import type { BreakerReason, BreakerState } from "./events";

export interface BreakerWindowStats {
  calls: number;
  failures: number;
  slowCalls: number;
  /** Percentages 0–100; null until `minimumCalls` calls were seen. */
  failureRate: number | null;
  slowCallRate: number | null;
  consecutiveFailures: number;
}

export interface BreakerSnapshot {
  name: string;
  upstream: string;
  route?: string;
  state: BreakerState;
  /** Why it is in this state (the last transition's reason). */
  reason?: BreakerReason;
  /** Wall ms of the last transition. */
  since: number;
  /** Wall ms when an open breaker will admit probes. */
  openUntil?: number;
  /** Consecutive trips without a full recovery (drives the growing open time). */
  trips: number;
  window: BreakerWindowStats;
  halfOpen?: { inFlight: number; successes: number };
  thresholds: Pick<
    CircuitBreakerConfig,
    | "failureRateThreshold"
    | "slowCallRateThreshold"
    | "slowCallDurationMs"
    | "consecutiveFailures"
    | "minimumCalls"
    | "window"
  >;
}

export interface BulkheadSnapshot {
  inFlight: number;
  queued: number;
  maxConcurrent: number;
  maxQueue: number;
  rejected: number;
}

export interface EndpointSnapshot {
  id: string;
  url: string;
  healthy: boolean;
  ejected: boolean;
  ejectedUntil?: number;
  ejections: number;
  /** Configured weight and the weight in use now (slow start, gradual shift). */
  weight: number;
  effectiveWeight: number;
  inFlight: number;
}

export interface UpstreamSnapshot {
  breakers: BreakerSnapshot[];
  bulkhead: BulkheadSnapshot;
  endpoints: EndpointSnapshot[];
  retryBudget: { active: number; retrying: number; exhausted: number };
}

export interface RouteSnapshot {
  mode: ModeName;
  /** Current adaptive rate-limit factor (1 = configured limits). */
  rateLimitFactor: number;
  shiftPercent?: number;
  /** Open WebSocket tunnels on the route (absent when none, or from older instances). */
  websocketTunnels?: number;
}

export interface InstanceSnapshot {
  instanceId: string;
  pid: number;
  startedAt: number;
  /** Wall ms the snapshot was taken (the heartbeat). */
  at: number;
  /** Config revision this instance serves. */
  revision: number;
  mode: ModeName;
  upstreams: Record<string, UpstreamSnapshot>;
  routes: Record<string, RouteSnapshot>;
  inFlight: number;
  /** Open WebSocket tunnels (absent from instances that do not report them). */
  websocketTunnels?: number;
  telemetry: {
    queued: number;
    written: number;
    dropped: Record<string, number>;
    /** False while the store writer's last flush failed (absent without a store). */
    healthy?: boolean;
    /** Where the store writes run: the writer thread, or the event loop. */
    mode?: "thread" | "in_thread";
    /** Why the writer thread stopped, when it did and writes fell back to the event loop. */
    threadError?: string;
    /** The last failed flush's error. */
    lastError?: string;
  };
}
