/**
 * Long-lived state of one upstream: its breakers, bulkhead, endpoint set and retry budget.
 * Created once and updated in place on every config change, so a breaker keeps its state and
 * window, a bulkhead its in-flight calls and an endpoint its ejection across revisions.
 */
import type { CircuitBreakerConfig, UpstreamConfig } from "../config/schema";
import type { EventBus } from "../events";
import { Bulkhead } from "../policies/bulkhead";
import { CircuitBreaker } from "../policies/circuit-breaker";
import { EndpointSet } from "../policies/endpoints";
import { RetryBudget } from "../policies/retry";
import type { Clock, Random } from "../ports";
import type { UpstreamSnapshot } from "../snapshot";

export interface RuntimeDeps {
  clock: Clock;
  random: Random;
  events: EventBus;
}

export class UpstreamRuntime {
  readonly bulkhead: Bulkhead;
  readonly endpoints: EndpointSet;
  readonly retryBudget: RetryBudget;
  /** Shared by every route whose breaker scope is "upstream". */
  private readonly shared: CircuitBreaker;
  private sharedInUse = false;
  /** Breakers of routes whose scope is "route", by route id. */
  private readonly perRoute = new Map<string, CircuitBreaker>();
  private bound = new Set<string>();

  constructor(
    readonly id: string,
    private config: UpstreamConfig,
    private readonly deps: RuntimeDeps,
  ) {
    const { clock, random, events } = deps;
    this.shared = new CircuitBreaker({
      name: id,
      upstream: id,
      config: config.circuitBreaker,
      clock,
      events,
    });
    this.bulkhead = new Bulkhead({
      name: id,
      config: config.bulkhead,
      clock,
      events,
      upstream: id,
    });
    this.endpoints = new EndpointSet({ upstream: id, config, clock, random, events });
    this.retryBudget = new RetryBudget(config.retryBudget);
  }

  /** Start of an apply: every route binds the breakers it uses again. */
  beginApply(config: UpstreamConfig): void {
    this.config = config;
    this.shared.updateConfig(config.circuitBreaker);
    this.bulkhead.updateConfig(config.bulkhead);
    this.endpoints.updateConfig(config);
    this.retryBudget.updateConfig(config.retryBudget);
    this.sharedInUse = false;
    this.bound = new Set();
  }

  /**
   * The breaker `route` uses against this upstream: the shared one, or a breaker of its own
   * when the effective scope (route override over upstream config) is "route".
   */
  bindRoute(route: string, override?: Partial<CircuitBreakerConfig>): CircuitBreaker {
    const config: CircuitBreakerConfig = override
      ? { ...this.config.circuitBreaker, ...override }
      : this.config.circuitBreaker;
    if (config.scope !== "route") {
      this.sharedInUse = true;
      return this.shared;
    }
    this.bound.add(route);
    let breaker = this.perRoute.get(route);
    if (breaker) breaker.updateConfig(config);
    else {
      const { clock, events } = this.deps;
      breaker = new CircuitBreaker({
        name: `${route}:${this.id}`,
        upstream: this.id,
        route,
        config,
        clock,
        events,
      });
      this.perRoute.set(route, breaker);
    }
    return breaker;
  }

  /** End of an apply: forget breakers of routes that no longer use this upstream. */
  endApply(): void {
    for (const route of this.perRoute.keys())
      if (!this.bound.has(route)) this.perRoute.delete(route);
  }

  snapshot(): UpstreamSnapshot {
    const breakers = [];
    if (this.sharedInUse || this.perRoute.size === 0) breakers.push(this.shared.snapshot());
    for (const b of this.perRoute.values()) breakers.push(b.snapshot());
    return {
      breakers,
      bulkhead: this.bulkhead.snapshot(),
      endpoints: this.endpoints.snapshot(),
      retryBudget: this.retryBudget.stats(),
    };
  }
}
