/**
 * The circuit breaker's state machine: closed → open → half_open → closed, plus the
 * operator states forced_open, forced_closed and shadow. *When* to open is decided by the
 * trip strategies (rate-strategy.ts, consecutive-strategy.ts); this file decides what the
 * states mean. Everything is synchronous and allocates one small permit per admitted call.
 *
 * Open → half_open happens lazily, when a call arrives after the open time, so no timer
 * runs. Each transition bumps a generation; a permit settled after the state it was issued
 * in has been left is ignored, so a slow call from before a trip cannot count as a probe.
 */
import type { CircuitBreakerConfig } from "../../config/schema";
import type { BreakerReason, BreakerState, EventBus } from "../../events";
import type { Outcome } from "../../outcome";
import type { Clock } from "../../ports";
import type { BreakerSnapshot } from "../../snapshot";
import { openDurationFor } from "./circuit-breaker.options";
import type {
  BreakerAdmission,
  BreakerPermit,
  BreakerRejection,
  CircuitBreakerOptions,
} from "./circuit-breaker.options";
import { ConsecutiveStrategy } from "./consecutive-strategy";
import { RateStrategy } from "./rate-strategy";

type AutoState = "closed" | "open" | "half_open";
/** `disabled` (enabled: false) or the configured forcedState. */
type Mode = "disabled" | CircuitBreakerConfig["forcedState"];

const COUNTED = 0;
const PROBE = 1;

/** Admits without counting: used when the breaker is disabled, and in shadow mode. */
const UNCOUNTED_PERMIT: BreakerPermit = Object.freeze({
  ok: true as const,
  record() {},
  release() {},
});

class Permit implements BreakerPermit {
  readonly ok = true as const;
  private settled = false;

  constructor(
    private readonly breaker: CircuitBreaker,
    private readonly gen: number,
    private readonly kind: number,
  ) {}

  record(outcome: Outcome): void {
    if (this.settled) return;
    this.settled = true;
    this.breaker._settle(this.gen, this.kind, outcome);
  }

  release(): void {
    if (this.settled) return;
    this.settled = true;
    this.breaker._release(this.gen, this.kind);
  }
}

export class CircuitBreaker {
  readonly name: string;
  readonly upstream: string;
  readonly route: string | undefined;
  private config: CircuitBreakerConfig;
  private readonly clock: Clock;
  private readonly events: EventBus | undefined;

  private readonly rate: RateStrategy;
  private readonly consecutive: ConsecutiveStrategy;

  private mode: Mode;
  private auto: AutoState = "closed";
  private gen = 0;
  private trips = 0;
  /** Monotonic ms at which an open breaker admits probes. */
  private openUntil = 0;
  private probesInFlight = 0;
  private probeSuccesses = 0;
  private lastReason: BreakerReason | undefined;
  private since: number;

  constructor(opts: CircuitBreakerOptions) {
    this.name = opts.name;
    this.upstream = opts.upstream;
    this.route = opts.route;
    this.config = opts.config;
    this.clock = opts.clock;
    this.events = opts.events;
    this.rate = new RateStrategy(opts.config);
    this.consecutive = new ConsecutiveStrategy(opts.config);
    this.mode = modeOf(opts.config);
    this.since = opts.clock.wallNow();
  }

  get state(): BreakerState {
    return publicState(this.mode, this.auto);
  }

  /**
   * Whether a call asked for now would be refused for being open: forced open, or open with
   * its open time still running. An open breaker whose open time has elapsed is not refusing:
   * the next `tryAcquire` moves it to half_open and admits a probe. Changes nothing.
   */
  isRefusing(): boolean {
    const mode = this.mode;
    if (mode === "forced_open") return true;
    return mode === "none" && this.auto === "open" && this.clock.now() < this.openUntil;
  }

  /** Ask to make a call. On success you get a permit that must be settled exactly once. */
  tryAcquire(): BreakerAdmission {
    const mode = this.mode;
    if (mode === "disabled") return UNCOUNTED_PERMIT;
    if (mode === "forced_open") return this.reject("forced_open", this.config.openDurationMs);
    if (mode === "forced_closed") return new Permit(this, this.gen, COUNTED);

    // Auto and shadow evaluate identically; shadow admits what auto would reject.
    const shadow = mode === "shadow";
    if (this.auto === "open") {
      const now = this.clock.now();
      if (now < this.openUntil) {
        return shadow ? UNCOUNTED_PERMIT : this.reject("open", this.openUntil - now);
      }
      this.move("half_open", { trigger: "open_elapsed" });
    }
    if (this.auto === "half_open") {
      if (this.probesInFlight >= this.config.halfOpenMaxProbes) {
        return shadow ? UNCOUNTED_PERMIT : this.reject("half_open", 0);
      }
      this.probesInFlight++;
      return new Permit(this, this.gen, PROBE);
    }
    return new Permit(this, this.gen, COUNTED);
  }

  snapshot(): BreakerSnapshot {
    const c = this.config;
    const now = this.clock.now();
    const state = this.state;
    const snap: BreakerSnapshot = {
      name: this.name,
      upstream: this.upstream,
      state,
      since: this.since,
      trips: this.trips,
      window: this.rate.stats(now, this.consecutive.consecutiveFailures),
      thresholds: {
        failureRateThreshold: c.failureRateThreshold,
        slowCallRateThreshold: c.slowCallRateThreshold,
        slowCallDurationMs: c.slowCallDurationMs,
        consecutiveFailures: c.consecutiveFailures,
        minimumCalls: c.minimumCalls,
        window: c.window,
      },
    };
    if (this.route !== undefined) snap.route = this.route;
    if (this.lastReason) snap.reason = this.lastReason;
    if (state === "open") snap.openUntil = this.clock.wallNow() + Math.max(0, this.openUntil - now);
    if (state === "half_open") {
      snap.halfOpen = { inFlight: this.probesInFlight, successes: this.probeSuccesses };
    }
    return snap;
  }

  /**
   * Apply a new config at runtime. Thresholds apply at once; recorded calls survive unless
   * the window changes type or size; an open breaker keeps its open time. A change of
   * `forcedState` or `enabled` transitions (trigger "forced", "released" or
   * "config_changed") and starts the automatic machine afresh from closed.
   */
  updateConfig(config: CircuitBreakerConfig): void {
    const prevMode = this.mode;
    const nextMode = modeOf(config);
    this.config = config;
    this.rate.updateConfig(config);
    this.consecutive.updateConfig(config);
    if (prevMode === nextMode) return;

    const from = this.state;
    // forced_open and disabled saw no calls: what the window holds is too old to judge by.
    if (prevMode === "forced_open" || prevMode === "disabled") this.resetCounts();
    this.mode = nextMode;
    this.auto = "closed";
    this.gen++;
    this.trips = 0;
    this.openUntil = 0;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    const to = this.state;
    if (from === to) return;
    const trigger =
      nextMode === "disabled" || prevMode === "disabled"
        ? "config_changed"
        : nextMode === "none"
          ? "released"
          : "forced";
    this.transitioned(from, to, { trigger });
  }

  /** @internal Called by a permit when its call finished. */
  _settle(gen: number, kind: number, outcome: Outcome): void {
    if (gen !== this.gen) return;
    if (kind === PROBE) {
      this.probesInFlight--;
      if (outcome.failure) {
        this.open({ trigger: "probe_failed", calls: this.probeSuccesses + 1 }, outcome);
      } else if (++this.probeSuccesses >= this.config.halfOpenSuccessesToClose) {
        const reason: BreakerReason = {
          trigger: "probes_succeeded",
          observed: this.probeSuccesses,
          threshold: this.config.halfOpenSuccessesToClose,
        };
        this.resetCounts();
        this.trips = 0;
        this.move("closed", reason);
      }
      return;
    }
    const now = this.rate.usesTime ? this.clock.now() : 0;
    // Both strategies see every call; the first to object gives the reason.
    const byRate = this.rate.onResult(outcome, now);
    const byStreak = this.consecutive.onResult(outcome);
    const reason = byRate ?? byStreak;
    if (reason && this.mode !== "forced_closed") this.open(reason, outcome);
  }

  /** @internal Called by a permit whose call never happened. */
  _release(gen: number, kind: number): void {
    if (gen === this.gen && kind === PROBE) this.probesInFlight--;
  }

  private open(reason: BreakerReason, outcome: Outcome): void {
    this.trips++;
    const d = openDurationFor(this.config, this.trips, outcome.retryAfterMs);
    reason.openForMs = d.openForMs;
    if (d.retryAfterMs !== undefined) reason.retryAfterMs = d.retryAfterMs;
    this.openUntil = this.clock.now() + d.openForMs;
    this.move("open", reason);
  }

  private move(to: AutoState, reason: BreakerReason): void {
    const from = this.state;
    this.auto = to;
    this.gen++;
    if (to === "half_open") {
      this.probesInFlight = 0;
      this.probeSuccesses = 0;
    }
    if (this.mode === "shadow") {
      if (to === "open") this.emitShadowTrip(reason);
      return;
    }
    this.transitioned(from, this.state, reason);
  }

  private transitioned(from: BreakerState, to: BreakerState, reason: BreakerReason): void {
    this.lastReason = reason;
    this.since = this.clock.wallNow();
    const events = this.events;
    if (!events?.hasListeners) return;
    const e = {
      type: "breaker.transition" as const,
      at: this.since,
      route: this.route,
      upstream: this.upstream,
      from,
      to,
      reason,
    };
    events.emit(e);
  }

  private emitShadowTrip(reason: BreakerReason): void {
    const events = this.events;
    if (!events?.hasListeners) return;
    const e = {
      type: "breaker.shadow_trip" as const,
      at: this.clock.wallNow(),
      route: this.route,
      upstream: this.upstream,
      reason,
    };
    events.emit(e);
  }

  private reject(state: BreakerState, retryAfterMs: number): BreakerRejection {
    const events = this.events;
    // Checked here rather than through emitLazy so a rejection allocates no closure.
    if (events?.hasListeners) {
      const e = {
        type: "breaker.rejected" as const,
        at: this.clock.wallNow(),
        route: this.route,
        upstream: this.upstream,
        state,
        retryAfterMs,
      };
      events.emit(e);
    }
    return { ok: false, state, retryAfterMs };
  }

  private resetCounts(): void {
    this.rate.reset();
    this.consecutive.reset();
  }
}

function modeOf(config: CircuitBreakerConfig): Mode {
  return config.enabled ? config.forcedState : "disabled";
}

function publicState(mode: Mode, auto: AutoState): BreakerState {
  if (mode === "none") return auto;
  if (mode === "disabled") return "closed";
  return mode;
}
