import type { BulkheadConfig } from "../../config/schema";
import type { EventBus } from "../../events";
import type { Clock } from "../../ports";

export interface BulkheadOptions {
  /** Names this bulkhead in logs and snapshots (usually the upstream id). */
  name: string;
  config: BulkheadConfig;
  clock: Clock;
  events?: EventBus;
  /** Upstream id carried on emitted events. */
  upstream?: string;
}

/** A held slot. `release()` is idempotent: only the first call frees the slot. */
export interface BulkheadPermit {
  ok: true;
  release(): void;
}

export type BulkheadRejectionReason =
  "queue_full" | "queue_timeout" | "consumer_limit" | "aborted" | "deadline";

/**
 * Why a caller got no slot. `aborted` means the caller's own signal fired while it waited;
 * `deadline` that the caller's own `maxWaitMs` (its remaining deadline) ran out before the
 * queue timeout did. Neither is counted as a rejection nor emits an event (the caller went
 * away or ran out of time, the bulkhead did not turn it down).
 */
export interface BulkheadRejection {
  ok: false;
  reason: BulkheadRejectionReason;
}

export type BulkheadResult = BulkheadPermit | BulkheadRejection;
