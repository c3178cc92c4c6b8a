/**
 * Prometheus metrics, in a registry of the gateway's own (several gateways may live in one
 * test process). Request-path counters keep their labelled children per route so a request
 * costs a couple of property reads and increments.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { InstanceSnapshot, OutcomeKind, ResilienceEvent } from "@rg/core";

const BREAKER_STATE_VALUE: Record<string, number> = {
  closed: 0,
  open: 1,
  half_open: 2,
  forced_open: 3,
  forced_closed: 4,
  shadow: 5,
};

export type RequestResult = OutcomeKind | "rejected" | "fallback" | "cache_hit";

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: "rg_requests_total",
    help: "Requests finished, by route, upstream and result.",
    labelNames: ["route", "upstream", "result"] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: "rg_request_duration_seconds",
    help: "Time from request start to response headers (or to the gateway's own answer).",
    labelNames: ["route"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
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
  private readonly inFlight = new Gauge({
    name: "rg_in_flight_requests",
    help: "Requests in flight.",
    registers: [this.registry],
  });
  /** route → upstream → result → counter child: ids from the config, so no key is built. */
  private readonly children = new Map<string, Map<string, Map<string, Counter.Internal>>>();
  private readonly latencyChildren = new Map<string, Histogram.Internal<"route">>();

  request(route: string, upstream: string, result: RequestResult, seconds: number): void {
    let byUpstream = this.children.get(route);
    if (!byUpstream) this.children.set(route, (byUpstream = new Map()));
    let byResult = byUpstream.get(upstream);
    if (!byResult) byUpstream.set(upstream, (byResult = new Map()));
    let c = byResult.get(result);
    if (!c) byResult.set(result, (c = this.requests.labels(route, upstream, result)));
    c.inc();
    let h = this.latencyChildren.get(route);
    if (!h) {
      h = this.latency.labels(route);
      this.latencyChildren.set(route, h);
    }
    h.observe(seconds);
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
    this.inFlight.set(s.inFlight);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
