/**
 * The gateway process's resilience state and its route pipelines. `apply(config)` creates,
 * updates in place or removes the long-lived per-upstream and per-route state, then builds a
 * fresh pipeline for every route and swaps the whole route table at once: a request that
 * already holds a pipeline finishes on it, the next one gets the new table.
 */
import type { Config, RouteConfig } from "../config/schema";
import type { EventBus } from "../events";
import { RouteRateLimiter } from "../policies/rate-limit";
import type { Clock, Random } from "../ports";
import { SliRecorder, seriesKey } from "../sli/recorder";
import type { InstanceSnapshot, RouteSnapshot, UpstreamSnapshot } from "../snapshot";
import { RoutePipeline, type UpstreamTarget } from "./route-pipeline";
import { TrafficShift } from "./shift";
import { UpstreamRuntime } from "./upstream-runtime";

/** Per-route state that outlives config revisions. */
class RouteRuntime {
  rateLimiter: RouteRateLimiter | undefined;
  readonly shift = new TrafficShift();
  config!: RouteConfig;
  upstream = "";
}

export class ResilienceRuntime {
  readonly sli: SliRecorder;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly events: EventBus;
  private upstreams = new Map<string, UpstreamRuntime>();
  private routes = new Map<string, RouteRuntime>();
  private pipelines = new Map<string, RoutePipeline>();

  constructor(deps: { clock: Clock; random: Random; events: EventBus }) {
    this.clock = deps.clock;
    this.random = deps.random;
    this.events = deps.events;
    this.sli = new SliRecorder(deps.clock);
  }

  /** Bring state and pipelines in line with a validated config, then swap the route table. */
  apply(config: Config): void {
    // Refuse a config with dangling references before touching any state. The schema already
    // rejects them; this guards configs assembled by hand.
    for (const [id, rc] of Object.entries(config.routes)) {
      for (const ref of [rc.upstream, rc.shift?.to, rc.fallback?.upstream]) {
        if (ref !== undefined && !Object.hasOwn(config.upstreams, ref))
          throw new Error(`route '${id}' refers to unknown upstream '${ref}'`);
      }
    }
    const deps = { clock: this.clock, random: this.random, events: this.events };
    const now = this.clock.now();

    const upstreams = new Map<string, UpstreamRuntime>();
    for (const [id, uc] of Object.entries(config.upstreams)) {
      const existing = this.upstreams.get(id);
      const up = existing ?? new UpstreamRuntime(id, uc, deps);
      up.beginApply(uc);
      upstreams.set(id, up);
    }

    const routes = new Map<string, RouteRuntime>();
    const pipelines = new Map<string, RoutePipeline>();
    const sliKeys = new Set<string>();
    const target = (routeId: string, rc: RouteConfig, upstreamId: string, own: boolean) => {
      const upstream = upstreams.get(upstreamId)!;
      sliKeys.add(seriesKey(routeId, upstreamId));
      const t: UpstreamTarget = {
        upstream,
        breaker: upstream.bindRoute(routeId, own ? rc.circuitBreaker : undefined),
        sli: this.sli.series(routeId, upstreamId, rc.slo.latencyThresholdMs),
      };
      return t;
    };

    for (const [id, rc] of Object.entries(config.routes)) {
      const rt = this.routes.get(id) ?? new RouteRuntime();
      rt.config = rc;
      rt.upstream = rc.upstream;
      if (rc.rateLimit?.enabled) {
        if (rt.rateLimiter) rt.rateLimiter.updateConfig(rc.rateLimit);
        else
          rt.rateLimiter = new RouteRateLimiter({
            route: id,
            config: rc.rateLimit,
            clock: this.clock,
            events: this.events,
          });
      } else rt.rateLimiter = undefined;
      rt.shift.update(rc.shift, now);
      routes.set(id, rt);

      const primary = target(id, rc, rc.upstream, true);
      pipelines.set(
        id,
        new RoutePipeline({
          routeId: id,
          route: rc,
          primary,
          ...(rc.shift && rc.shift.to !== rc.upstream
            ? { shift: { target: target(id, rc, rc.shift.to, false), state: rt.shift } }
            : {}),
          ...(rc.fallback?.upstream
            ? {
                fallback: target(
                  id,
                  rc,
                  rc.fallback.upstream,
                  rc.fallback.upstream === rc.upstream,
                ),
              }
            : {}),
          ...(rt.rateLimiter ? { rateLimiter: rt.rateLimiter } : {}),
          clock: this.clock,
          random: this.random,
          events: this.events,
        }),
      );
    }

    for (const up of upstreams.values()) up.endApply();
    this.sli.retainOnly(sliKeys);
    // The swap: three assignments, no await in between.
    this.upstreams = upstreams;
    this.routes = routes;
    this.pipelines = pipelines;
  }

  pipeline(routeId: string): RoutePipeline | undefined {
    return this.pipelines.get(routeId);
  }

  upstream(id: string): UpstreamRuntime | undefined {
    return this.upstreams.get(id);
  }

  /**
   * Once a second: feed each adaptive rate limiter the health of its route's upstream over the
   * last ten seconds, leaving out the requests the limiter itself refused.
   */
  tick(): void {
    for (const [id, rt] of this.routes) {
      if (!rt.rateLimiter || !rt.config.rateLimit?.adaptive.enabled) continue;
      const health = this.sli.health(id, rt.upstream, "10s");
      rt.rateLimiter.adapt({ p99Ms: health.p99, errorRatePercent: health.errorRate * 100 });
    }
  }

  snapshot(): Pick<InstanceSnapshot, "upstreams" | "routes"> {
    const upstreams: Record<string, UpstreamSnapshot> = {};
    for (const [id, up] of this.upstreams) upstreams[id] = up.snapshot();
    const routes: Record<string, RouteSnapshot> = {};
    const now = this.clock.now();
    for (const [id, rt] of this.routes) {
      const r: RouteSnapshot = {
        mode: rt.config.mode,
        rateLimitFactor: rt.rateLimiter?.factor ?? 1,
      };
      if (rt.shift.target !== undefined) r.shiftPercent = rt.shift.percent(now);
      routes[id] = r;
    }
    return { upstreams, routes };
  }
}
