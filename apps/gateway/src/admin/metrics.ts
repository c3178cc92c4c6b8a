/**
 * Prometheus metrics, in a registry of the gateway's own (several gateways may live in one
 * test process). Request counts and latencies are plain per-route arrays read at scrape
 * time, so a request costs a map read and a few increments; the rest are prom-client
 * metrics, updated on rarer paths (rejections, cache use, events, the 1 s snapshot). Node's
 * process metrics are appended to every scrape.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import {
  OUTCOME_KINDS,
  type InstanceSnapshot,
  type OutcomeKind,
  type ResilienceEvent,
} from "@rg/core";

const BREAKER_STATE_VALUE: Record<string, number> = {
  closed: 0,
  open: 1,
  half_open: 2,
  forced_open: 3,
  forced_closed: 4,
  shadow: 5,
};

export type RequestResult = OutcomeKind | "rejected" | "fallback" | "cache_hit";

const RESULTS: readonly RequestResult[] = [...OUTCOME_KINDS, "rejected", "fallback", "cache_hit"];
const RESULT_INDEX = Object.fromEntries(RESULTS.map((r, i) => [r, i])) as Record<
  RequestResult,
  number
>;

let processRegistry: Registry | undefined;

/**
 * Node's own process metrics (CPU, resident memory, heap, GC, event-loop delay: the first
 * place to look when a Node gateway's latency rises), collected once per process from its
 * first scrape on and merged into every gateway's scrape: prom-client's collectors start an
 * event-loop monitor each that is never stopped, and one process may run several gateways
 * (tests do).
 */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One route's request counts (per upstream and result) and latency histogram. */
class RouteStats {
  readonly counts = new Map<string, number[]>();
  /** Per bucket (not cumulative); the last slot is above the highest bound. */
  readonly buckets = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  sum = 0;
  total = 0;

  add(upstream: string, result: RequestResult, seconds: number): void {
    let c = this.counts.get(upstream);
    if (c === undefined) this.counts.set(upstream, (c = new Array<number>(RESULTS.length).fill(0)));
    c[RESULT_INDEX[result]]!++;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
    this.total++;
  }
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/**
 * A metric read at scrape time from plain counters. prom-client's labelled children hash
 * their labels on every increment, which on the request path cost more than the whole
 * resilience pipeline; this keeps the request path to two array increments.
 */
class ScrapedMetric {
  readonly aggregator = "sum";
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "histogram",
    private readonly values: () => MetricValue[],
    readonly reset: () => void,
  ) {}

  get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: MetricValue[];
  }> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.values(),
    });
  }
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly breakerState = new Gauge({
    name: "rg_breaker_state",
    help: "Breaker state: 0 closed, 1 open, 2 half_open, 3 forced_open, 4 forced_closed, 5 shadow.",
    labelNames: ["upstream", "breaker"] as const,
    registers: [this.registry],
  });
  private readonly breakerTransitions = new Counter({
    name: "rg_breaker_transitions_total",
    help: "Breaker transitions by upstream and target state.",
    labelNames: ["upstream", "to"] as const,
    registers: [this.registry],
  });
  private readonly retries = new Counter({
    name: "rg_retries_total",
    help: "Retries scheduled.",
    labelNames: ["route"] as const,
    registers: [this.registry],
  });
  private readonly budgetExhausted = new Counter({
    name: "rg_retry_budget_exhausted_total",
    help: "Retries refused by the retry budget.",
    labelNames: ["route"] as const,
    registers: [this.registry],
  });
  private readonly rejections = new Counter({
    name: "rg_rejections_total",
    help: "Requests the gateway answered itself, by cause (error code).",
    labelNames: ["route", "cause"] as const,
    registers: [this.registry],
  });
  private readonly cache = new Counter({
    name: "rg_cache_total",
    help: "Cache use: fresh hits and stale-if-error serves.",
    labelNames: ["route", "result"] as const,
    registers: [this.registry],
  });
  private readonly eventDrops = new Gauge({
    name: "rg_event_queue_dropped",
    help: "Telemetry events dropped (queue full, store errors), by reason.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  private readonly writer = new Gauge({
    name: "rg_store_writer_healthy",
    help: "1 while the store writer's last flush succeeded, else 0; `mode` says where its writes run (thread, or in_thread on the event loop).",
    labelNames: ["mode"] as const,
    registers: [this.registry],
  });
  private readonly inFlight = new Gauge({
    name: "rg_in_flight_requests",
    help: "Requests in flight.",
    registers: [this.registry],
  });
  private readonly tunnelsClosed = new Counter({
    name: "rg_websocket_tunnels_closed_total",
    help: "WebSocket tunnels closed, by route and by whom: client, upstream, client_error or upstream_error (that side's socket failed first: a reset, a keep-alive timeout; or the upstream closed without a Close frame), idle (websocket.idleTimeoutMs), config (the route stopped allowing them) or shutdown.",
    labelNames: ["route", "by"] as const,
    registers: [this.registry],
  });
  private readonly routes = new Map<string, RouteStats>();
  /** Open WebSocket tunnels by route, read at scrape time. */
  private openTunnels: () => ReadonlyMap<string, number> = () => new Map();

  constructor() {
    const requests = new ScrapedMetric(
      "rg_requests_total",
      "Requests finished, by route, upstream and result.",
      "counter",
      () => {
        const out: MetricValue[] = [];
        for (const [route, r] of this.routes)
          for (const [upstream, c] of r.counts)
            for (let i = 0; i < RESULTS.length; i++)
              if (c[i]! > 0)
                out.push({ value: c[i]!, labels: { route, upstream, result: RESULTS[i]! } });
        return out;
      },
      () => this.routes.clear(),
    );
    const latency = new ScrapedMetric(
      "rg_request_duration_seconds",
      "Time from request start to response headers (or to the gateway's own answer).",
      "histogram",
      () => {
        const out: MetricValue[] = [];
        const name = "rg_request_duration_seconds";
        for (const [route, r] of this.routes) {
          let acc = 0;
          for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
            acc += r.buckets[i]!;
            out.push({
              value: acc,
              labels: { route, le: LATENCY_BUCKETS[i]! },
              metricName: `${name}_bucket`,
            });
          }
          out.push({ value: r.total, labels: { route, le: "+Inf" }, metricName: `${name}_bucket` });
          out.push({ value: r.sum, labels: { route }, metricName: `${name}_sum` });
          out.push({ value: r.total, labels: { route }, metricName: `${name}_count` });
        }
        return out;
      },
      () => this.routes.clear(),
    );
    const tunnels = (): ReadonlyMap<string, number> => this.openTunnels();
    new Gauge({
      name: "rg_websocket_tunnels",
      help: "Open WebSocket tunnels, by route.",
      labelNames: ["route"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [route, n] of tunnels()) this.labels(route).set(n);
      },
    });
    for (const m of [requests, latency])
      this.registry.registerMetric(m as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  request(route: string, upstream: string, result: RequestResult, seconds: number): void {
    let r = this.routes.get(route);
    if (r === undefined) this.routes.set(route, (r = new RouteStats()));
    r.add(upstream, result, seconds);
  }

  /** Where the open WebSocket tunnels are counted. */
  countTunnels(open: () => ReadonlyMap<string, number>): void {
    this.openTunnels = open;
  }

  tunnelClosed(route: string, by: string): void {
    this.tunnelsClosed.labels(route, by).inc();
  }

  rejected(route: string, cause: string): void {
    this.rejections.labels(route, cause).inc();
  }

  cacheUse(route: string, result: "hit" | "stale"): void {
    this.cache.labels(route, result).inc();
  }

  /** Counters driven by core events. */
  onEvent(e: ResilienceEvent): void {
    switch (e.type) {
      case "breaker.transition":
        this.breakerTransitions.labels(e.upstream, e.to).inc();
        break;
      case "retry.scheduled":
        this.retries.labels(e.route ?? "").inc();
        break;
      case "retry.budget_exhausted":
        this.budgetExhausted.labels(e.route ?? "").inc();
        break;
      default:
        break;
    }
  }

  /** Gauges refreshed from the live snapshot once a second. */
  fromSnapshot(s: InstanceSnapshot): void {
    this.breakerState.reset();
    for (const [upstream, u] of Object.entries(s.upstreams)) {
      for (const b of u.breakers) {
        this.breakerState.labels(upstream, b.name).set(BREAKER_STATE_VALUE[b.state] ?? -1);
      }
    }
    for (const [reason, n] of Object.entries(s.telemetry.dropped)) {
      this.eventDrops.labels(reason).set(n);
    }
    this.writer.reset();
    const t = s.telemetry;
    if (t.healthy !== undefined) this.writer.labels(t.mode ?? "in_thread").set(t.healthy ? 1 : 0);
    this.inFlight.set(s.inFlight);
  }

  /** The gateway's metrics followed by the process's. */
  async text(): Promise<string> {
    return Registry.merge([this.registry, processMetrics()]).metrics();
  }
}
