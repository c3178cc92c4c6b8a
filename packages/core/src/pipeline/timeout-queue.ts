/**
 * Per-try timeouts without one platform timer per attempt. Attempts of a route mostly share
 * the same timeout (perTryMs), so their expiry times arrive in order: they wait in a FIFO
 * and a single clock timer is armed for the oldest one. Cancelling marks an entry dead in
 * O(1); dead entries leave the queue when they reach its head. An entry that would expire
 * before the queue's tail (a timeout shortened by the deadline) gets a clock timer of its own.
 */
import type { CancelTimer, Clock } from "../ports";
import type { LiteAbortSignal } from "./abort";

export interface TimeoutEntry {
  /** Monotonic ms at which the signal aborts. */
  at: number;
  /** Cleared on cancel and on firing. */
  signal: LiteAbortSignal | undefined;
  /** Set when the entry has its own clock timer. */
  own: CancelTimer | undefined;
}

export class TimeoutQueue {
  private readonly queue: (TimeoutEntry | undefined)[] = [];
  private head = 0;
  private cancelArmed: CancelTimer | undefined;
  /** When the armed timer fires (it may belong to an entry trimmed since). */
  private armedAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    /** The abort reason the signals get. */
    private readonly reason: unknown,
  ) {}

  /**
   * Abort `signal` after `ms` unless the returned entry is cancelled first. `now` is the
   * clock's current time when the caller has just read it.
   */
  add(ms: number, signal: LiteAbortSignal, now = this.clock.now()): TimeoutEntry {
    const at = now + ms;
    const entry: TimeoutEntry = { at, signal, own: undefined };
    const q = this.queue;
    // Entries whose attempts finished in time are dead: drop them from the head first.
    while (this.head < q.length && q[this.head]!.signal === undefined) q[this.head++] = undefined;
    if (this.head === q.length && this.head > 0) {
      q.length = 0;
      this.head = 0;
    }
    if (q.length > this.head && q[q.length - 1]!.at > at) {
      entry.own = this.clock.setTimer(ms, () => {
        entry.own = undefined;
        this.fire(entry);
      });
      return entry;
    }
    q.push(entry);
    if (at < this.armedAt) {
      // Nothing armed, or armed for a dead entry due later than this one.
      this.cancelArmed?.();
      this.arm(at);
    }
    return entry;
  }

  cancel(entry: TimeoutEntry): void {
    entry.signal = undefined;
    if (entry.own !== undefined) {
      entry.own();
      entry.own = undefined;
    }
  }

  /** Entries still queued (live or dead). */
  get size(): number {
    return this.queue.length - this.head;
  }

  private fire(entry: TimeoutEntry): void {
    const signal = entry.signal;
    entry.signal = undefined;
    signal?._abort(this.reason);
  }

  private arm(at: number): void {
    this.armedAt = at;
    this.cancelArmed = this.clock.setTimer(Math.max(0, at - this.clock.now()), () => this.expire());
  }

  private expire(): void {
    this.cancelArmed = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    const q = this.queue;
    const now = this.clock.now();
    while (this.head < q.length) {
      const e = q[this.head]!;
      if (e.signal !== undefined && e.at > now) break;
      q[this.head++] = undefined;
      this.fire(e);
    }
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
      return;
    }
    // Compact once the consumed prefix dominates, so the array does not grow without bound.
    if (this.head > 1024 && this.head * 2 > q.length) {
      q.splice(0, this.head);
      this.head = 0;
    }
    this.arm(q[this.head]!.at);
  }
}
