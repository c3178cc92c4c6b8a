import type { UpstreamConfig } from "../../config/schema";
import type { EventBus } from "../../events";
import type { Outcome } from "../../outcome";
import type { Clock, Random } from "../../ports";
import type { EndpointSnapshot } from "../../snapshot";
import { SLOW_START_INITIAL_FRACTION } from "./endpoints.options";
import type { EndpointChoice, EndpointSetOptions } from "./endpoints.options";

class EndpointState {
  choice: EndpointChoice;
  /** Configured weight (the target of any weight shift). */
  weight: number;
  /** Weight when the current shift began. */
  fromWeight: number;

  // Active health checks (rise/fall).
  healthy = true;
  passes = 0;
  fails = 0;

  // Passive outlier detection.
  ejected = false;
  ejectedUntil = 0;
  /** Drives the growing ejection time; decays while the endpoint behaves. */
  multiplier = 0;
  ejectionsTotal = 0;
  lastRestoredAt = Number.NEGATIVE_INFINITY;
  consecutiveFailures = 0;
  intervalStart = Number.NEGATIVE_INFINITY;
  intervalRequests = 0;
  intervalFailures = 0;

  /** When the endpoint last came back (restored or healthy again); slow start counts from it. */
  recoveredAt = Number.NEGATIVE_INFINITY;
  inFlight = 0;

  constructor(id: string, url: string, weight: number, fromWeight: number) {
    this.choice = Object.freeze({ id, url });
    this.weight = weight;
    this.fromWeight = fromWeight;
  }

  resetDetection(): void {
    this.consecutiveFailures = 0;
    this.intervalStart = Number.NEGATIVE_INFINITY;
    this.intervalRequests = 0;
    this.intervalFailures = 0;
  }
}

/**
 * The endpoints of one upstream: weighted random load balancing over the endpoints that are
 * healthy (active checks, rise/fall) and not ejected (passive outlier detection), with slow
 * start for recovered endpoints and a gradual shift when weights are reconfigured.
 *
 * Choices, following Envoy where it has one:
 * - Ejection follows Envoy's algorithm: the first ejection is always allowed (when
 *   `maxEjectionPercent` > 0); further ones only while the ejected share, counting the new
 *   one, stays ≤ `maxEjectionPercent`. Unlike Envoy, which ejects a lone host and then routes
 *   to it anyway in panic mode, an endpoint is never ejected when no other endpoint would stay
 *   in service: a single-endpoint upstream keeps sending its failures to the breaker. So 2 endpoints at 50% allow one ejection, 3 at 10% also
 *   one. Ejection time is `baseEjectionMs` × the ejection multiplier, capped at
 *   `maxEjectionMs`; the multiplier grows by one per ejection up to
 *   ⌈`maxEjectionMs` / `baseEjectionMs`⌉ (Envoy also stops it there) and, as in Envoy ≥
 *   1.18, drops by one per `intervalMs` the endpoint stays in service.
 * - Failure percentage is measured over a window of `intervalMs` that starts with the first
 *   request after the previous one ended, and is checked on every result once the window holds
 *   `failurePercentMinRequests` requests (Envoy checks at interval ends; checking inline ejects
 *   sooner with the same threshold).
 * - Un-ejection is lazy: an endpoint whose time is up is restored on the next `pick`, `snapshot`
 *   or `effectiveWeight`, with `outlier.restored` stamped then. Its slow start counts from the
 *   moment the ejection ended, so the ramp does not depend on when traffic arrives.
 * - Endpoints start healthy, so traffic flows before the first probes complete (HAProxy's
 *   default); `fall` failed probes take one out, `rise` passes bring it back.
 * - No panic mode: when every endpoint is unhealthy or ejected, `pick` returns undefined and the
 *   request goes to the fallback chain (stale cache, fallback upstream, static) instead of to
 *   endpoints known to be failing. (`upstream.unavailable` is raised from the instance
 *   snapshot, which sees every upstream at once.)
 * - Slow start: a recovered endpoint's weight ramps linearly from 10% to 100% over
 *   `slowStartMs`; endpoints added by a config change ramp too (as Envoy does for new hosts).
 * - Weight shift: on a config change every endpoint's weight moves linearly from the weight in
 *   use at that moment (itself possibly mid-shift) to the new one over `weightShiftMs`; new
 *   endpoints start from 0. Slow start multiplies on top.
 */
export class EndpointSet {
  readonly upstream: string;
  private config: UpstreamConfig;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly events: EventBus | undefined;

  private byId = new Map<string, EndpointState>();
  private list: EndpointState[] = [];
  /** Scratch buffer for pick(): one weight per endpoint, reused to avoid allocating. */
  private weights = new Float64Array(0);
  private shiftStart = 0;
  private shiftMs = 0;

  constructor(opts: EndpointSetOptions) {
    this.upstream = opts.upstream;
    this.config = opts.config;
    this.clock = opts.clock;
    this.random = opts.random;
    this.events = opts.events;
    for (const [id, ep] of Object.entries(opts.config.endpoints)) {
      this.byId.set(id, new EndpointState(id, ep.url, ep.weight, ep.weight));
    }
    this.rebuild();
  }

  /**
   * Weighted random choice among endpoints that are healthy, not ejected, not in `exclude` and
   * have a weight above zero; undefined when there is none. Uses one random draw.
   */
  pick(exclude?: ReadonlySet<string>): EndpointChoice | undefined {
    const now = this.clock.now();
    const list = this.list;
    const w = this.weights;
    let total = 0;
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      let x = 0;
      if (this.available(e, now) && !(exclude !== undefined && exclude.has(e.choice.id))) {
        x = this.currentWeight(e, now);
      }
      w[i] = x;
      total += x;
    }
    if (!(total > 0)) return undefined;
    let r = this.random.next() * total;
    let last = -1;
    for (let i = 0; i < list.length; i++) {
      const x = w[i]!;
      if (x <= 0) continue;
      last = i;
      r -= x;
      if (r < 0) return list[i]!.choice;
    }
    // Floating-point rounding left r at ~0: the last candidate owns that edge.
    return list[last]!.choice;
  }

  onStart(id: string): void {
    const e = this.byId.get(id);
    if (e) e.inFlight++;
  }

  onFinish(id: string): void {
    const e = this.byId.get(id);
    if (e && e.inFlight > 0) e.inFlight--;
  }

  /** Feeds passive outlier detection with one classified attempt. */
  record(id: string, outcome: Outcome): void {
    const od = this.config.outlierDetection;
    const e = this.byId.get(id);
    if (!od.enabled || !e) return;
    const now = this.clock.now();
    this.expire(e, now);
    // Results of calls started before the ejection say nothing new.
    if (e.ejected) return;
    if (now - e.intervalStart >= od.intervalMs) {
      e.intervalStart = now;
      e.intervalRequests = 0;
      e.intervalFailures = 0;
    }
    e.intervalRequests++;
    if (outcome.failure) {
      e.intervalFailures++;
      e.consecutiveFailures++;
    } else {
      e.consecutiveFailures = 0;
    }
    if (od.consecutive5xx > 0 && e.consecutiveFailures >= od.consecutive5xx) {
      this.eject(e, now, `${e.consecutiveFailures} consecutive failures`);
      return;
    }
    if (od.failurePercent > 0 && e.intervalRequests >= od.failurePercentMinRequests) {
      const pct = (e.intervalFailures * 100) / e.intervalRequests;
      if (pct >= od.failurePercent) {
        this.eject(
          e,
          now,
          `failure rate ${round(pct)}% over ${e.intervalRequests} requests ≥ ${od.failurePercent}%`,
        );
      }
    }
  }

  /** Feeds one active health-check result; `rise` passes or `fall` failures in a row flip it. */
  recordHealthCheck(id: string, passed: boolean, detail: string): void {
    const e = this.byId.get(id);
    if (!e) return;
    const hc = this.config.healthCheck;
    if (passed) {
      e.fails = 0;
      e.passes++;
      if (!e.healthy && e.passes >= hc.rise) {
        e.healthy = true;
        e.recoveredAt = this.clock.now();
        this.emitHealth(e, detail);
      }
    } else {
      e.passes = 0;
      e.fails++;
      if (e.healthy && e.fails >= hc.fall) {
        e.healthy = false;
        this.emitHealth(e, detail);
      }
    }
  }

  /** How long until the next probe of this endpoint: faster while it is unhealthy. */
  healthCheckIntervalMs(id: string): number {
    const hc = this.config.healthCheck;
    const e = this.byId.get(id);
    return e && !e.healthy ? hc.unhealthyIntervalMs : hc.intervalMs;
  }

  /** The weight in use now: 0 when unhealthy or ejected, else shifted weight × slow start. */
  effectiveWeight(id: string): number {
    const e = this.byId.get(id);
    if (!e) return 0;
    const now = this.clock.now();
    return this.available(e, now) ? this.currentWeight(e, now) : 0;
  }

  /** Ids of the endpoints, in config order (the gateway probes each). */
  ids(): string[] {
    return this.list.map((e) => e.choice.id);
  }

  snapshot(): EndpointSnapshot[] {
    const now = this.clock.now();
    const wall = this.clock.wallNow();
    return this.list.map((e) => {
      const available = this.available(e, now);
      const s: EndpointSnapshot = {
        id: e.choice.id,
        url: e.choice.url,
        healthy: e.healthy,
        ejected: e.ejected,
        ejections: e.ejectionsTotal,
        weight: e.weight,
        effectiveWeight: available ? round(this.currentWeight(e, now)) : 0,
        inFlight: e.inFlight,
      };
      if (e.ejected) s.ejectedUntil = wall + (e.ejectedUntil - now);
      return s;
    });
  }

  /**
   * Applies a new upstream config. Endpoints that remain keep their health, ejection and
   * in-flight state; removed ones are dropped; added ones start healthy and slow-start. An
   * endpoint whose URL changed is another host: it starts as an added one does, keeping only
   * its in-flight count, which the requests to the old URL still finish. Weights move gradually
   * over `weightShiftMs` from those in use now.
   */
  updateConfig(config: UpstreamConfig): void {
    const now = this.clock.now();
    const entries = Object.entries(config.endpoints);
    // Every revision reaches every upstream; only one that changes weights (or the endpoint
    // list, or an endpoint's URL) starts a new shift, so an unrelated change does not restart
    // one under way.
    const reweighted =
      entries.length !== this.byId.size ||
      entries.some(([id, ep]) => {
        const e = this.byId.get(id);
        return e?.weight !== ep.weight || e.choice.url !== ep.url;
      });
    const shifting = reweighted && config.weightShiftMs > 0;
    const next = new Map<string, EndpointState>();
    for (const [id, ep] of entries) {
      const was = this.byId.get(id);
      let e: EndpointState;
      if (was && was.choice.url === ep.url) {
        e = was;
        if (reweighted) {
          e.fromWeight = shifting ? this.shiftedWeight(e, now) : ep.weight;
          e.weight = ep.weight;
        }
      } else {
        e = new EndpointState(id, ep.url, ep.weight, shifting ? 0 : ep.weight);
        e.recoveredAt = now;
        if (was) e.inFlight = was.inFlight;
      }
      next.set(id, e);
    }
    if (reweighted) {
      this.shiftStart = now;
      this.shiftMs = shifting ? config.weightShiftMs : 0;
    }
    this.byId = next;
    this.config = config;
    this.rebuild();
    for (const e of this.list) {
      if (!config.healthCheck.enabled && !e.healthy) {
        e.healthy = true;
        e.recoveredAt = now;
        this.emitHealth(e, "health checks disabled");
      }
      if (!config.healthCheck.enabled) e.passes = e.fails = 0;
      if (!config.outlierDetection.enabled) {
        if (e.ejected) this.restore(e, now);
        e.resetDetection();
      }
    }
  }

  private rebuild(): void {
    this.list = [...this.byId.values()];
    this.weights = new Float64Array(this.list.length);
  }

  private available(e: EndpointState, now: number): boolean {
    if (e.ejected) this.expire(e, now);
    return e.healthy && !e.ejected;
  }

  private shiftedWeight(e: EndpointState, now: number): number {
    const elapsed = now - this.shiftStart;
    if (this.shiftMs <= 0 || elapsed >= this.shiftMs) return e.weight;
    return e.fromWeight + ((e.weight - e.fromWeight) * elapsed) / this.shiftMs;
  }

  private currentWeight(e: EndpointState, now: number): number {
    const w = this.shiftedWeight(e, now);
    const ramp = this.config.slowStartMs;
    const since = now - e.recoveredAt;
    if (ramp <= 0 || since >= ramp) return w;
    return w * (SLOW_START_INITIAL_FRACTION + ((1 - SLOW_START_INITIAL_FRACTION) * since) / ramp);
  }

  private eject(e: EndpointState, now: number, reason: string): void {
    const od = this.config.outlierDetection;
    let ejected = 0;
    let othersInService = 0;
    for (const x of this.list) {
      this.expire(x, now);
      if (x.ejected) ejected++;
      else if (x !== e && x.healthy && x.weight > 0) othersInService++;
    }
    // Ejection moves traffic to the other endpoints; it never takes out the last one in
    // service. When every endpoint fails, the failures must reach the circuit breaker.
    const allowed =
      od.maxEjectionPercent > 0 &&
      othersInService > 0 &&
      (ejected === 0 || ((ejected + 1) * 100) / this.list.length <= od.maxEjectionPercent);
    if (!allowed) return;
    const quietIntervals = Math.floor((now - e.lastRestoredAt) / od.intervalMs);
    // Capped where the ejection time reaches maxEjectionMs, as in Envoy: a host that flapped
    // for hours is forgiven in as many quiet intervals as one that just reached the cap.
    const maxMultiplier = Math.ceil(od.maxEjectionMs / od.baseEjectionMs);
    e.multiplier = Math.min(maxMultiplier, Math.max(0, e.multiplier - quietIntervals) + 1);
    const ejectionMs = Math.min(od.maxEjectionMs, od.baseEjectionMs * e.multiplier);
    e.ejected = true;
    e.ejectedUntil = now + ejectionMs;
    e.ejectionsTotal++;
    e.resetDetection();
    const events = this.events;
    if (events?.hasListeners) {
      events.emit({
        type: "outlier.ejected",
        at: this.clock.wallNow(),
        upstream: this.upstream,
        endpoint: e.choice.id,
        reason,
        ejectionMs,
      });
    }
  }

  /** Restores an endpoint whose ejection time is up. */
  private expire(e: EndpointState, now: number): void {
    if (e.ejected && now >= e.ejectedUntil) this.restore(e, e.ejectedUntil);
  }

  private restore(e: EndpointState, at: number): void {
    e.ejected = false;
    e.lastRestoredAt = at;
    e.recoveredAt = at;
    e.resetDetection();
    const events = this.events;
    if (events?.hasListeners) {
      events.emit({
        type: "outlier.restored",
        at: this.clock.wallNow(),
        upstream: this.upstream,
        endpoint: e.choice.id,
      });
    }
  }

  private emitHealth(e: EndpointState, reason: string): void {
    const events = this.events;
    if (events?.hasListeners) {
      events.emit({
        type: "health.changed",
        at: this.clock.wallNow(),
        upstream: this.upstream,
        endpoint: e.choice.id,
        healthy: e.healthy,
        reason,
      });
    }
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
