/**
 * From the core's EventBus and SLI recorder to the store, never blocking the request path:
 * events go into the writer's bounded queue (dropped and counted when it is full or the store
 * is broken); once a second completed SLI seconds are drained to it, the live snapshot is
 * replaced, SLO burn is evaluated and upstreams without a usable endpoint are reported.
 */
import {
  badRequests,
  shouldAlert,
  errorBudget,
  type Config,
  type EventBus,
  type InstanceSnapshot,
  type ResilienceEvent,
  type SliBucket,
} from "@rg/core";
import type { EventWriterPort, WriterStats } from "./ports";
import { settlesWithin } from "../wait";

interface MinuteSlot {
  minute: number;
  total: number;
  bad: number;
}

const LONG_MINUTES = 60;
const SHORT_MINUTES = 5;
/** While an SLO keeps burning, repeat the signal this often so incidents stay active. */
const BURN_REPEAT_MS = 60_000;

/** Per-route ring of per-minute totals over the last hour, fed by drained SLI seconds. */
class BurnWindow {
  private readonly slots: MinuteSlot[] = Array.from({ length: LONG_MINUTES }, () => ({
    minute: -1,
    total: 0,
    bad: 0,
  }));
  alertingSince: number | undefined;
  lastEmit = 0;

  add(b: SliBucket): void {
    const minute = Math.floor(b.start / 60_000);
    const slot = this.slots[minute % LONG_MINUTES]!;
    if (slot.minute !== minute) {
      slot.minute = minute;
      slot.total = 0;
      slot.bad = 0;
    }
    let total = b.rejected;
    for (const k in b.counts) total += b.counts[k as keyof typeof b.counts];
    slot.total += total;
    slot.bad += badRequests(b);
  }

  ratios(nowWall: number): { long: number; short: number; total: number; bad: number } {
    const now = Math.floor(nowWall / 60_000);
    let lt = 0;
    let lb = 0;
    let st = 0;
    let sb = 0;
    for (const s of this.slots) {
      if (s.minute < 0 || now - s.minute >= LONG_MINUTES || s.minute > now) continue;
      lt += s.total;
      lb += s.bad;
      if (now - s.minute < SHORT_MINUTES) {
        st += s.total;
        sb += s.bad;
      }
    }
    return { long: lt ? lb / lt : 0, short: st ? sb / st : 0, total: lt, bad: lb };
  }
}

export interface TelemetryOptions {
  bus: EventBus;
  writer: EventWriterPort | undefined;
  /** Called once a second: completed SLI seconds before this wall time. */
  drainSli(beforeWallMs: number): SliBucket[];
  snapshot(): InstanceSnapshot;
  config(): Config;
  wallNow(): number;
  onEvent?: (e: ResilienceEvent) => void;
  onSnapshot?: (s: InstanceSnapshot) => void;
  intervalMs?: number;
  /** How long `close()` waits for the store to take what is queued (default 10 s). */
  closeTimeoutMs?: number;
}

/**
 * How long `close()` waits for the store by default: long enough for a flush behind a busy
 * lock (the store's 5 s busy timeout), and bounded.
 */
export const TELEMETRY_CLOSE_TIMEOUT_MS = 10_000;

export class Telemetry {
  private readonly unsubscribe: () => void;
  private timer: NodeJS.Timeout | undefined;
  private readonly burn = new Map<string, BurnWindow>();
  private readonly unavailable = new Set<string>();
  /** Drops counted here: no writer, or a writer that threw. */
  private readonly localDrops: Record<string, number> = {};
  private lastSnapshot: InstanceSnapshot | undefined;

  constructor(private readonly o: TelemetryOptions) {
    this.unsubscribe = o.bus.on((e) => {
      o.onEvent?.(e);
      this.enqueue(e);
    });
  }

  private drop(reason: string): void {
    this.localDrops[reason] = (this.localDrops[reason] ?? 0) + 1;
  }

  private enqueue(e: ResilienceEvent): void {
    const w = this.o.writer;
    if (!w) return this.drop("no_store");
    try {
      w.enqueueEvent(e);
    } catch {
      this.drop("store_error");
    }
  }

  start(): void {
    const every = this.o.intervalMs ?? 1000;
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
  }

  stats(): WriterStats {
    let s: WriterStats = { queued: 0, written: 0, dropped: {} };
    try {
      if (this.o.writer) s = this.o.writer.stats();
    } catch {
      s = { queued: 0, written: 0, dropped: {}, healthy: false };
    }
    const dropped = { ...s.dropped };
    if (s.droppedSli) dropped.sli = (dropped.sli ?? 0) + s.droppedSli;
    for (const [k, v] of Object.entries(this.localDrops)) dropped[k] = (dropped[k] ?? 0) + v;
    return { ...s, dropped };
  }

  latestSnapshot(): InstanceSnapshot | undefined {
    return this.lastSnapshot;
  }

  /** One second's work; public so tests and shutdown can run it directly. */
  tick(): void {
    const now = this.o.wallNow();
    let buckets: SliBucket[] = [];
    try {
      buckets = this.o.drainSli(Math.floor(now / 1000) * 1000);
    } catch {
      buckets = [];
    }
    const cfg = this.o.config();
    for (const b of buckets) {
      if (!(b.route in cfg.routes)) continue;
      let w = this.burn.get(b.route);
      if (!w) this.burn.set(b.route, (w = new BurnWindow()));
      w.add(b);
    }
    if (buckets.length > 0) {
      try {
        this.o.writer?.enqueueSli(buckets);
      } catch {
        this.drop("store_error");
      }
    }
    this.evaluateBurn(now, cfg);
    let snap: InstanceSnapshot | undefined;
    try {
      snap = this.o.snapshot();
    } catch {
      snap = undefined;
    }
    if (snap) {
      this.lastSnapshot = snap;
      this.evaluateUnavailable(now, snap);
      this.o.onSnapshot?.(snap);
      try {
        this.o.writer?.setSnapshot(snap);
      } catch {
        this.drop("store_error");
      }
    }
  }

  private evaluateBurn(now: number, cfg: Config): void {
    for (const [route, w] of this.burn) {
      const r = cfg.routes[route];
      if (!r) {
        this.burn.delete(route);
        continue;
      }
      const { long, short, total, bad } = w.ratios(now);
      const target = r.slo.successTarget;
      const alert = shouldAlert({
        longErrorRatio: long,
        shortErrorRatio: short,
        target,
        threshold: r.slo.burnRateAlert,
      });
      if (!alert) {
        w.alertingSince = undefined;
        continue;
      }
      if (w.alertingSince === undefined || now - w.lastEmit >= BURN_REPEAT_MS) {
        w.alertingSince ??= now;
        w.lastEmit = now;
        this.o.bus.emit({
          type: "slo.burn",
          at: now,
          route,
          upstream: r.upstream,
          longBurnRate: long / (1 - target),
          shortBurnRate: short / (1 - target),
          threshold: r.slo.burnRateAlert,
          budgetRemaining: errorBudget({ target, good: total - bad, total }).remainingFraction,
        });
      }
    }
  }

  private evaluateUnavailable(now: number, snap: InstanceSnapshot): void {
    for (const [upstream, u] of Object.entries(snap.upstreams)) {
      const total = u.endpoints.length;
      // The endpoint set reports 0 for an endpoint it cannot pick: unhealthy, ejected or
      // drained (weight 0). Healthy but drained ones leave no endpoint to send to either.
      const healthy = u.endpoints.filter((e) => e.effectiveWeight > 0).length;
      if (total > 0 && healthy === 0) {
        if (!this.unavailable.has(upstream)) {
          this.unavailable.add(upstream);
          this.o.bus.emit({ type: "upstream.unavailable", at: now, upstream, healthy, total });
        }
      } else {
        this.unavailable.delete(upstream);
      }
    }
  }

  /**
   * Last tick, then the writer's final flush. Bounded by `closeTimeoutMs`: a store that never
   * answers (a wedged disk, a writer thread stuck in a call) must not keep a stopping gateway
   * alive. Resolves `timed_out` when it gave up waiting, and what was still queued is lost.
   */
  async close(): Promise<"closed" | "timed_out"> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.tick();
    this.unsubscribe();
    const w = this.o.writer;
    if (!w) return "closed";
    // A writer that fails to close is a broken store: nothing more can be saved either way.
    const closing = Promise.resolve().then(() => w.close());
    const ms = this.o.closeTimeoutMs ?? TELEMETRY_CLOSE_TIMEOUT_MS;
    return (await settlesWithin(closing, ms)) ? "closed" : "timed_out";
  }
}
