/**
 * Sliding windows of call results for the rate-based trip strategy. Both keep running
 * totals so that recording a call and reading the rates are O(1) (the time window does
 * O(buckets) work only when whole seconds have passed) and allocate nothing per call.
 */
import type { CircuitBreakerConfig } from "../../config/schema";

export type WindowConfig = CircuitBreakerConfig["window"];

export interface WindowTotals {
  calls: number;
  failures: number;
  slowCalls: number;
}

export interface SlidingWindow {
  readonly config: WindowConfig;
  record(failure: boolean, slow: boolean, now: number): void;
  /** Totals over the window as of `now` (ages out old calls first). */
  totals(now: number): WindowTotals;
  reset(): void;
}

const FAILURE = 1;
const SLOW = 2;

/** The last `size` calls, in a ring buffer of flags. */
export class CountWindow implements SlidingWindow {
  private readonly slots: Uint8Array;
  private next = 0;
  private filled = 0;
  private readonly sums: WindowTotals = { calls: 0, failures: 0, slowCalls: 0 };

  constructor(readonly config: WindowConfig & { type: "count" }) {
    this.slots = new Uint8Array(config.size);
  }

  record(failure: boolean, slow: boolean): void {
    const size = this.slots.length;
    if (this.filled === size) {
      const old = this.slots[this.next]!;
      if (old & FAILURE) this.sums.failures--;
      if (old & SLOW) this.sums.slowCalls--;
    } else {
      this.filled++;
      this.sums.calls++;
    }
    this.slots[this.next] = (failure ? FAILURE : 0) | (slow ? SLOW : 0);
    if (failure) this.sums.failures++;
    if (slow) this.sums.slowCalls++;
    this.next = this.next + 1 === size ? 0 : this.next + 1;
  }

  totals(): WindowTotals {
    return this.sums;
  }

  reset(): void {
    this.slots.fill(0);
    this.next = 0;
    this.filled = 0;
    this.sums.calls = this.sums.failures = this.sums.slowCalls = 0;
  }
}

/**
 * Calls of the last `sizeMs`, in one bucket per second. A call made during second `s`
 * counts until second `s + sizeMs/1000` begins, so the window ages out with a
 * granularity of one second (like Resilience4j's time-based window).
 */
export class TimeWindow implements SlidingWindow {
  private readonly n: number;
  private readonly calls: Int32Array;
  private readonly failures: Int32Array;
  private readonly slow: Int32Array;
  /** The second the newest bucket belongs to; -Infinity while empty. */
  private head = Number.NEGATIVE_INFINITY;
  private readonly sums: WindowTotals = { calls: 0, failures: 0, slowCalls: 0 };

  constructor(readonly config: WindowConfig & { type: "time" }) {
    this.n = Math.max(1, Math.ceil(config.sizeMs / 1000));
    this.calls = new Int32Array(this.n);
    this.failures = new Int32Array(this.n);
    this.slow = new Int32Array(this.n);
  }

  record(failure: boolean, slow: boolean, now: number): void {
    const i = this.advance(now);
    this.calls[i]!++;
    this.sums.calls++;
    if (failure) {
      this.failures[i]!++;
      this.sums.failures++;
    }
    if (slow) {
      this.slow[i]!++;
      this.sums.slowCalls++;
    }
  }

  totals(now: number): WindowTotals {
    this.advance(now);
    return this.sums;
  }

  reset(): void {
    this.calls.fill(0);
    this.failures.fill(0);
    this.slow.fill(0);
    this.head = Number.NEGATIVE_INFINITY;
    this.sums.calls = this.sums.failures = this.sums.slowCalls = 0;
  }

  /** Move the head to the second of `now`, emptying buckets that fell out. Returns its index. */
  private advance(now: number): number {
    const second = Math.floor(now / 1000);
    if (second > this.head) {
      if (second - this.head >= this.n) {
        this.reset();
      } else {
        for (let s = this.head + 1; s <= second; s++) this.clear(s % this.n);
      }
      this.head = second;
    }
    // A clock never runs backwards; should it, the call lands in the newest bucket.
    return this.head % this.n;
  }

  private clear(i: number): void {
    this.sums.calls -= this.calls[i]!;
    this.sums.failures -= this.failures[i]!;
    this.sums.slowCalls -= this.slow[i]!;
    this.calls[i] = this.failures[i] = this.slow[i] = 0;
  }
}

export function createWindow(config: WindowConfig): SlidingWindow {
  return config.type === "count" ? new CountWindow(config) : new TimeWindow(config);
}

/** "count:100" or "time:60000ms", as shown in breaker reasons. */
export function windowLabel(config: WindowConfig): string {
  return config.type === "count" ? `count:${config.size}` : `time:${config.sizeMs}ms`;
}

export function sameWindow(a: WindowConfig, b: WindowConfig): boolean {
  if (a.type === "count") return b.type === "count" && a.size === b.size;
  return b.type === "time" && a.sizeMs === b.sizeMs;
}
