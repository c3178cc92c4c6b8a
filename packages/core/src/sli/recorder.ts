/**
 * Rolling SLI windows per route × upstream. Every finished request lands in a per-second
 * slot of a ring covering the last five minutes; the ring's slots and histograms are
 * allocated once per series, so recording a request allocates nothing. Completed seconds
 * are handed to the store writer by {@link SliRecorder.drain}; the 1-minute and 5-minute
 * views are summed from the same ring on read.
 */
import type { OutcomeKind } from "../outcome";
import type { Clock } from "../ports";
import {
  LATENCY_CELLS,
  emptyCounts,
  latencyCell,
  percentileFromCells,
  type OutcomeCounts,
  type SliBucket,
} from "./buckets";

/** Seconds kept per series: the longest window served by {@link SliRecorder.window}. */
export const SLI_RING_SECONDS = 300;

export type SliSpan = "10s" | "1m" | "5m";
const SPAN_SECONDS: Record<SliSpan, number> = { "10s": 10, "1m": 60, "5m": 300 };

/** How one request finished, for {@link SliSeries.record}. */
export interface SliSample {
  /**
   * The final upstream outcome, or `undefined` when the gateway answered without one
   * (breaker open, bulkhead full, no endpoint, degraded mode): counted as `rejected`.
   */
  outcome: OutcomeKind | undefined;
  latencyMs: number;
  /** More than one attempt was made. */
  retried?: boolean;
  /** The answer came from a fallback (stale cache, fallback upstream, static). */
  fallback?: boolean;
}

export interface SliWindow {
  /** Requests finished in the window (every outcome plus rejected). */
  total: number;
  byOutcome: OutcomeCounts;
  rejected: number;
  retries: number;
  fallbacks: number;
  slow: number;
  /** Requests that failed from the client's point of view, see {@link badRequests}. */
  bad: number;
  /** bad / total, 0 when empty. */
  errorRate: number;
  /** slow / total, 0 when empty. */
  slowRate: number;
  p50: number;
  p95: number;
  p99: number;
  /** Requests per second over the part of the window the series has existed. */
  rps: number;
}

/**
 * An upstream's health over a span for the adaptive rate limit: the requests that got past
 * the route's own rate limiter, so the limiter's refusals cannot dilute the signal that sets it.
 */
export interface SliHealth {
  /** Requests finished in the span, less those the route's rate limiter refused. */
  requests: number;
  /** bad / requests, 0 when empty (see {@link badRequests}). */
  errorRate: number;
  p99: number;
}

/**
 * Requests whose final answer was a failure: upstream 5xx, connect errors and timeouts, plus
 * requests the gateway refused itself, minus those a fallback answered. Client errors and
 * rate limiting (429) are the client's problem and do not burn the error budget.
 */
export function badRequests(b: {
  counts: OutcomeCounts;
  rejected: number;
  fallbacks: number;
}): number {
  const c = b.counts;
  const bad = c.http_5xx + c.connect_error + c.timeout + b.rejected - b.fallbacks;
  return bad > 0 ? bad : 0;
}

const KIND_INDEX: Record<OutcomeKind, number> = {
  success: 0,
  http_5xx: 1,
  connect_error: 2,
  timeout: 3,
  rate_limited: 4,
  client_error: 5,
};
const KINDS = Object.keys(KIND_INDEX) as OutcomeKind[];

class Slot {
  /** Wall-clock second (ms / 1000, floored) this slot holds; -1 when never used. */
  sec = -1;
  requests = 0;
  readonly counts = new Float64Array(KINDS.length);
  rejected = 0;
  retries = 0;
  fallbacks = 0;
  slow = 0;
  /** Requests the route's own rate limiter refused (rate_limited, 0 ms). */
  limited = 0;
  readonly latency = new Float64Array(LATENCY_CELLS);

  reset(sec: number): void {
    this.sec = sec;
    this.requests = 0;
    this.counts.fill(0);
    this.rejected = 0;
    this.retries = 0;
    this.fallbacks = 0;
    this.slow = 0;
    this.limited = 0;
    this.latency.fill(0);
  }
}

/** The ring of one route × upstream. Obtain it once with {@link SliRecorder.series}. */
export class SliSeries {
  private readonly slots: Slot[] = [];
  /** Last second handed out by drain. */
  private drainedSec = -1;
  private firstSec = -1;
  /** Set when the route or upstream left the config: dropped after its last drain. */
  retired = false;

  constructor(
    readonly route: string,
    readonly upstream: string,
    private readonly clock: Clock,
    /** Requests slower than this count as slow (the route's SLO latency threshold). */
    public latencyThresholdMs: number,
  ) {
    for (let i = 0; i < SLI_RING_SECONDS; i++) this.slots.push(new Slot());
  }

  /** Record one finished request. Allocation-free. */
  record(
    outcome: OutcomeKind | undefined,
    latencyMs: number,
    retried = false,
    fallback = false,
  ): void {
    this.recordInto(this.currentSlot(), outcome, latencyMs, retried, fallback);
  }

  /**
   * Record a request the route's own rate limiter refused: counted as `rate_limited` with
   * 0 ms like {@link record} would, and left out of {@link health}.
   */
  recordLimited(): void {
    const slot = this.currentSlot();
    this.recordInto(slot, "rate_limited", 0, false, false);
    slot.limited++;
  }

  private currentSlot(): Slot {
    const sec = Math.floor(this.clock.wallNow() / 1000);
    const slot = this.slots[sec % SLI_RING_SECONDS]!;
    if (slot.sec !== sec) {
      // A wall clock stepping back lands in a slot a newer second owns: keep that second's data.
      if (slot.sec > sec) return slot;
      slot.reset(sec);
      if (this.firstSec < 0) this.firstSec = sec;
    }
    return slot;
  }

  /** {@link record} with a sample object, for callers off the hot path. */
  recordSample(s: SliSample): void {
    this.record(s.outcome, s.latencyMs, s.retried ?? false, s.fallback ?? false);
  }

  private recordInto(
    slot: Slot,
    outcome: OutcomeKind | undefined,
    latencyMs: number,
    retried: boolean,
    fallback: boolean,
  ): void {
    slot.requests++;
    if (outcome === undefined) slot.rejected++;
    else slot.counts[KIND_INDEX[outcome]]!++;
    if (retried) slot.retries++;
    if (fallback) slot.fallbacks++;
    if (latencyMs > this.latencyThresholdMs) slot.slow++;
    slot.latency[latencyCell(latencyMs)]!++;
  }

  /** Completed, not yet drained seconds that end at or before `beforeWallMs`. */
  drain(beforeWallMs: number, out: SliBucket[]): void {
    const lastComplete = Math.floor(beforeWallMs / 1000) - 1;
    if (lastComplete <= this.drainedSec) return;
    for (const slot of this.slots) {
      if (slot.sec <= this.drainedSec || slot.sec > lastComplete || slot.requests === 0) continue;
      out.push(this.toBucket(slot));
    }
    this.drainedSec = lastComplete;
  }

  private toBucket(slot: Slot): SliBucket {
    const counts = emptyCounts();
    for (let i = 0; i < KINDS.length; i++) counts[KINDS[i]!] = slot.counts[i]!;
    return {
      start: slot.sec * 1000,
      route: this.route,
      upstream: this.upstream,
      counts,
      rejected: slot.rejected,
      retries: slot.retries,
      fallbacks: slot.fallbacks,
      slow: slot.slow,
      latency: Array.from(slot.latency),
    };
  }

  /** Sum of the last `span` seconds, including the current one. */
  window(span: SliSpan): SliWindow {
    const seconds = SPAN_SECONDS[span];
    const nowSec = Math.floor(this.clock.wallNow() / 1000);
    const { total, counts, rejected, retries, fallbacks, slow, latency } = this.sum(span, nowSec);
    const bad = badRequests({ counts, rejected, fallbacks });
    const existed = this.firstSec < 0 ? seconds : Math.min(seconds, nowSec - this.firstSec + 1);
    return {
      total,
      byOutcome: counts,
      rejected,
      retries,
      fallbacks,
      slow,
      bad,
      errorRate: total === 0 ? 0 : bad / total,
      slowRate: total === 0 ? 0 : slow / total,
      p50: percentileFromCells(latency, 50),
      p95: percentileFromCells(latency, 95),
      p99: percentileFromCells(latency, 99),
      rps: total / Math.max(1, existed),
    };
  }

  /**
   * The upstream's health over `span` for the adaptive rate limit: error rate and p99 of the
   * requests the route's rate limiter let through. Its own refusals (0 ms, never bad) would
   * otherwise lower both the more it refuses, and keep it from ever stepping down.
   */
  health(span: SliSpan): SliHealth {
    const sums = this.sum(span, Math.floor(this.clock.wallNow() / 1000));
    const requests = sums.total - sums.limited;
    const latency = sums.latency;
    // Every refusal was recorded at 0 ms, in the first histogram cell.
    latency[0] = Math.max(0, latency[0]! - sums.limited);
    return {
      requests,
      errorRate: requests <= 0 ? 0 : badRequests(sums) / requests,
      p99: percentileFromCells(latency, 99),
    };
  }

  private sum(span: SliSpan, nowSec: number) {
    const from = nowSec - SPAN_SECONDS[span] + 1;
    const counts = emptyCounts();
    const latency = new Array<number>(LATENCY_CELLS).fill(0);
    let total = 0;
    let rejected = 0;
    let retries = 0;
    let fallbacks = 0;
    let slow = 0;
    let limited = 0;
    for (const slot of this.slots) {
      if (slot.sec < from || slot.sec > nowSec || slot.requests === 0) continue;
      total += slot.requests;
      for (let i = 0; i < KINDS.length; i++) counts[KINDS[i]!] += slot.counts[i]!;
      rejected += slot.rejected;
      retries += slot.retries;
      fallbacks += slot.fallbacks;
      slow += slot.slow;
      limited += slot.limited;
      for (let i = 0; i < LATENCY_CELLS; i++) latency[i]! += slot.latency[i]!;
    }
    return { total, counts, rejected, retries, fallbacks, slow, limited, latency };
  }
}

const EMPTY_WINDOW: SliWindow = Object.freeze({
  total: 0,
  byOutcome: Object.freeze(emptyCounts()),
  rejected: 0,
  retries: 0,
  fallbacks: 0,
  slow: 0,
  bad: 0,
  errorRate: 0,
  slowRate: 0,
  p50: 0,
  p95: 0,
  p99: 0,
  rps: 0,
}) as SliWindow;

/** Default SLO latency threshold when a series is created without one (schema default). */
const DEFAULT_THRESHOLD_MS = 500;

export class SliRecorder {
  private readonly byRoute = new Map<string, Map<string, SliSeries>>();

  constructor(private readonly clock: Clock) {}

  /**
   * The series of a route × upstream, created on first use. Passing a threshold updates it
   * (config changes keep the ring). Hold on to the returned series on the hot path.
   */
  series(route: string, upstream: string, latencyThresholdMs?: number): SliSeries {
    let ups = this.byRoute.get(route);
    if (!ups) this.byRoute.set(route, (ups = new Map()));
    let s = ups.get(upstream);
    if (!s) {
      s = new SliSeries(route, upstream, this.clock, latencyThresholdMs ?? DEFAULT_THRESHOLD_MS);
      ups.set(upstream, s);
    } else if (latencyThresholdMs !== undefined) {
      s.latencyThresholdMs = latencyThresholdMs;
    }
    s.retired = false;
    return s;
  }

  /**
   * Record one request (looks the series up; the pipeline keeps its series instead). A
   * request that ends after a config change retired its series counts there without bringing
   * the series back: it is still drained once, then dropped.
   */
  record(route: string, upstream: string, sample: SliSample): void {
    (this.byRoute.get(route)?.get(upstream) ?? this.series(route, upstream)).recordSample(sample);
  }

  /** Mark every series not in `keep` ("route\u0000upstream") as retired: gone after next drain. */
  retainOnly(keep: ReadonlySet<string>): void {
    for (const [route, ups] of this.byRoute)
      for (const [upstream, s] of ups) if (!keep.has(seriesKey(route, upstream))) s.retired = true;
  }

  /** Completed seconds before `beforeWallMs` not handed out yet, oldest first. */
  drain(beforeWallMs: number): SliBucket[] {
    const out: SliBucket[] = [];
    for (const [route, ups] of this.byRoute) {
      for (const [upstream, s] of ups) {
        s.drain(beforeWallMs, out);
        if (s.retired) ups.delete(upstream);
      }
      if (ups.size === 0) this.byRoute.delete(route);
    }
    out.sort((a, b) => a.start - b.start);
    return out;
  }

  window(route: string, upstream: string, span: SliSpan): SliWindow {
    const s = this.byRoute.get(route)?.get(upstream);
    return s ? s.window(span) : { ...EMPTY_WINDOW, byOutcome: emptyCounts() };
  }

  /** {@link SliSeries.health} of a route × upstream; all zero for an unknown series. */
  health(route: string, upstream: string, span: SliSpan): SliHealth {
    const s = this.byRoute.get(route)?.get(upstream);
    return s ? s.health(span) : { requests: 0, errorRate: 0, p99: 0 };
  }

  /** Route × upstream pairs with a series. */
  keys(): { route: string; upstream: string }[] {
    const out: { route: string; upstream: string }[] = [];
    for (const [route, ups] of this.byRoute)
      for (const upstream of ups.keys()) out.push({ route, upstream });
    return out;
  }
}

export function seriesKey(route: string, upstream: string): string {
  return `${route}\u0000${upstream}`;
}
