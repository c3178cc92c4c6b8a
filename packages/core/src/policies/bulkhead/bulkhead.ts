import type { BulkheadConfig } from "../../config/schema";
import type { EventBus } from "../../events";
import type { CancelTimer, Clock } from "../../ports";
import type { BulkheadSnapshot } from "../../snapshot";
import type {
  BulkheadOptions,
  BulkheadPermit,
  BulkheadRejection,
  BulkheadRejectionReason,
  BulkheadResult,
} from "./bulkhead.options";

// Rejections carry no per-call data, so one frozen object per reason serves every caller.
const REJECTED: Record<BulkheadRejectionReason, BulkheadRejection> = {
  queue_full: Object.freeze({ ok: false, reason: "queue_full" }),
  queue_timeout: Object.freeze({ ok: false, reason: "queue_timeout" }),
  consumer_limit: Object.freeze({ ok: false, reason: "consumer_limit" }),
  aborted: Object.freeze({ ok: false, reason: "aborted" }),
  deadline: Object.freeze({ ok: false, reason: "deadline" }),
};

class Permit implements BulkheadPermit {
  readonly ok = true;
  private released = false;
  constructor(
    private readonly owner: Bulkhead,
    readonly consumer: string,
  ) {}
  release(): void {
    if (this.released) return;
    this.released = true;
    this.owner.releaseSlot(this.consumer);
  }
}

/** A caller waiting for a slot: a node of the FIFO queue (doubly linked for O(1) removal). */
interface Waiter {
  consumer: string;
  resolve: (result: BulkheadResult) => void;
  cancelTimer: CancelTimer | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  prev: Waiter | undefined;
  next: Waiter | undefined;
}

/**
 * Bounds concurrent calls to one upstream (Polly's concurrency limiter, cockatiel's
 * BulkheadPolicy). A free slot is granted synchronously; otherwise the caller waits in a
 * bounded FIFO queue for at most `queueTimeoutMs`. With `perConsumerMaxConcurrent` > 0 a
 * single consumer may hold (in flight plus queued) at most that many slots, so one noisy
 * client cannot take the whole upstream.
 */
export class Bulkhead {
  readonly name: string;
  private config: BulkheadConfig;
  private readonly clock: Clock;
  private readonly events: EventBus | undefined;
  private readonly upstream: string | undefined;

  private inFlight = 0;
  private queued = 0;
  private head: Waiter | undefined;
  private tail: Waiter | undefined;
  private rejected = 0;
  /** Slots held or awaited per consumer; only maintained when the per-consumer cap is on. */
  private readonly perConsumer = new Map<string, number>();

  constructor(opts: BulkheadOptions) {
    this.name = opts.name;
    this.config = opts.config;
    this.clock = opts.clock;
    this.events = opts.events;
    this.upstream = opts.upstream;
  }

  /**
   * A permit at once when a slot is free and nobody is queued ahead; otherwise a promise that
   * settles with a permit when a slot frees, or with a rejection (queue timeout, abort).
   * `maxWaitMs` caps the wait below `queueTimeoutMs` (the caller's remaining deadline): when it
   * is what runs out, the rejection is `deadline`.
   */
  acquire(
    consumer: string,
    signal?: AbortSignal,
    maxWaitMs?: number,
  ): BulkheadResult | Promise<BulkheadResult> {
    const cfg = this.config;
    const cap = cfg.perConsumerMaxConcurrent;
    if (cap > 0 && (this.perConsumer.get(consumer) ?? 0) >= cap) {
      return this.reject("consumer_limit");
    }
    if (this.inFlight < cfg.maxConcurrent && this.queued === 0) {
      this.inFlight++;
      if (cap > 0) this.countConsumer(consumer, 1);
      return new Permit(this, consumer);
    }
    if (this.queued >= cfg.maxQueue) return this.reject("queue_full");
    if (signal?.aborted) return REJECTED.aborted;
    if (maxWaitMs !== undefined && maxWaitMs <= 0) return REJECTED.deadline;
    return this.enqueue(consumer, signal, maxWaitMs);
  }

  snapshot(): BulkheadSnapshot {
    return {
      inFlight: this.inFlight,
      queued: this.queued,
      maxConcurrent: this.config.maxConcurrent,
      maxQueue: this.config.maxQueue,
      rejected: this.rejected,
    };
  }

  /**
   * Applies new limits without dropping anyone in flight. A higher `maxConcurrent` admits
   * waiters at once; a lower one lets in-flight calls finish and admits nobody until the count
   * falls below it. When `maxQueue` shrinks, the newest waiters beyond it are rejected with
   * `queue_full`. A new `queueTimeoutMs` applies to callers that start waiting afterwards.
   */
  updateConfig(config: BulkheadConfig): void {
    const capWasOn = this.config.perConsumerMaxConcurrent > 0;
    this.config = config;
    if (!capWasOn && config.perConsumerMaxConcurrent > 0) {
      // Counts were not kept while the cap was off; existing holders start uncounted and a
      // release of an uncounted slot is clamped at zero.
      this.perConsumer.clear();
    }
    while (this.queued > config.maxQueue && this.tail) {
      const w = this.tail;
      this.unlink(w);
      this.settle(w, this.reject("queue_full"));
    }
    this.drain();
  }

  /** @internal Called by a permit on its first release. */
  releaseSlot(consumer: string): void {
    this.inFlight--;
    if (this.config.perConsumerMaxConcurrent > 0) this.countConsumer(consumer, -1);
    this.drain();
  }

  private enqueue(
    consumer: string,
    signal: AbortSignal | undefined,
    maxWaitMs: number | undefined,
  ): Promise<BulkheadResult> {
    const queueTimeoutMs = this.config.queueTimeoutMs;
    // The caller's deadline wins a tie: it cannot go on either way.
    const byDeadline = maxWaitMs !== undefined && maxWaitMs <= queueTimeoutMs;
    const waitMs = byDeadline ? maxWaitMs : queueTimeoutMs;
    if (this.config.perConsumerMaxConcurrent > 0) this.countConsumer(consumer, 1);
    return new Promise<BulkheadResult>((resolve) => {
      const w: Waiter = {
        consumer,
        resolve,
        cancelTimer: undefined,
        signal,
        onAbort: undefined,
        prev: this.tail,
        next: undefined,
      };
      if (this.tail) this.tail.next = w;
      else this.head = w;
      this.tail = w;
      this.queued++;
      w.cancelTimer = this.clock.setTimer(waitMs, () => {
        w.cancelTimer = undefined;
        this.unlink(w);
        this.settle(w, byDeadline ? REJECTED.deadline : this.reject("queue_timeout"));
      });
      if (signal) {
        w.onAbort = () => {
          this.unlink(w);
          this.settle(w, REJECTED.aborted);
        };
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
    });
  }

  /** Admits waiters in FIFO order while slots are free. */
  private drain(): void {
    while (this.head && this.inFlight < this.config.maxConcurrent) {
      const w = this.head;
      this.unlink(w);
      this.inFlight++;
      // The waiter's consumer count was taken when it queued and now covers its slot.
      this.settle(w, new Permit(this, w.consumer), false);
    }
  }

  private unlink(w: Waiter): void {
    if (w.prev) w.prev.next = w.next;
    else if (this.head === w) this.head = w.next;
    else return; // already removed
    if (w.next) w.next.prev = w.prev;
    else this.tail = w.prev;
    w.prev = w.next = undefined;
    this.queued--;
  }

  private settle(w: Waiter, result: BulkheadResult, releaseConsumer = true): void {
    w.cancelTimer?.();
    w.cancelTimer = undefined;
    if (w.signal && w.onAbort) w.signal.removeEventListener("abort", w.onAbort);
    if (releaseConsumer && this.config.perConsumerMaxConcurrent > 0) {
      this.countConsumer(w.consumer, -1);
    }
    w.resolve(result);
  }

  private countConsumer(consumer: string, delta: number): void {
    const n = (this.perConsumer.get(consumer) ?? 0) + delta;
    if (n > 0) this.perConsumer.set(consumer, n);
    else this.perConsumer.delete(consumer);
  }

  private reject(
    reason: Exclude<BulkheadRejectionReason, "aborted" | "deadline">,
  ): BulkheadRejection {
    this.rejected++;
    const events = this.events;
    if (events?.hasListeners) {
      events.emit({
        type: "bulkhead.rejected",
        at: this.clock.wallNow(),
        ...(this.upstream !== undefined ? { upstream: this.upstream } : {}),
        reason,
      });
    }
    return REJECTED[reason];
  }
}
