/** Test-only: a gateway instance's live snapshot and SLI buckets for overview tests. */
import {
  emptyCounts,
  LATENCY_CELLS,
  latencyCell,
  type BreakerSnapshot,
  type InstanceSnapshot,
  type SliBucket,
} from "@rg/core";

/** A snapshot reporting the payments upstream with one breaker in `state`. */
export function paymentsSnapshot(
  instanceId: string,
  at: number,
  state: BreakerSnapshot["state"],
): InstanceSnapshot {
  const breaker: BreakerSnapshot = {
    name: "payments",
    upstream: "payments",
    state,
    since: at - 60_000,
    trips: 1,
    window: {
      calls: 50,
      failures: 0,
      slowCalls: 0,
      failureRate: 0,
      slowCallRate: 0,
      consecutiveFailures: 0,
    },
    thresholds: {
      failureRateThreshold: 50,
      slowCallRateThreshold: 100,
      slowCallDurationMs: 2000,
      consecutiveFailures: 0,
      minimumCalls: 10,
      window: { type: "count", size: 100 },
    },
  };
  return {
    instanceId,
    pid: 1,
    startedAt: at - 600_000,
    at,
    revision: 1,
    mode: "normal",
    upstreams: {
      payments: {
        breakers: [breaker],
        bulkhead: { inFlight: 0, queued: 0, maxConcurrent: 100, maxQueue: 50, rejected: 0 },
        endpoints: [],
        retryBudget: { active: 0, retrying: 0, exhausted: 0 },
      },
    },
    routes: {},
    inFlight: 0,
    telemetry: { queued: 0, written: 0, dropped: {} },
  };
}

/** One second of payments traffic: `failed` 5xx answers out of `ok + failed`. */
export function paymentsSecond(start: number, ok: number, failed: number): SliBucket {
  const counts = emptyCounts();
  counts.success = ok;
  counts.http_5xx = failed;
  const latency = new Array<number>(LATENCY_CELLS).fill(0);
  latency[latencyCell(40)] = ok + failed;
  return {
    start,
    route: "payments",
    upstream: "payments",
    counts,
    rejected: 0,
    retries: 0,
    fallbacks: 0,
    slow: 0,
    latency,
  };
}
