/**
 * The gateway's path into the store. Enqueueing is O(1) and does no I/O; a timer flushes the
 * queues every ~100 ms in one IMMEDIATE transaction of prepared statements (events go in as
 * chunks, one row per instance/type/route/upstream of the batch). When SQLite is
 * slow, locked, full or broken the batch is dropped and counted by reason, and flushing backs
 * off until the store recovers: the queues never grow past their capacity and nothing throws
 * into the caller.
 */
import type { InstanceSnapshot, ResilienceEvent, SliBucket } from "@rg/core";
import { startCheckpointer } from "./checkpointer";
import { insertEvents } from "./events";
import { runMaintenance } from "./maintenance";
import { updateIncidentsFromEvents } from "./incidents";
import { SNAPSHOT_UPSERT_SQL } from "./live";
import { bucketParams, prepared, SLI_UPSERT_SQL } from "./sli";
import type { Store } from "./store";

export type DropReason = "queue_full" | "store_error" | "disk_full" | "busy";

export interface FlushInfo {
  events: number;
  buckets: number;
  snapshot: boolean;
  durationMs: number;
  /** Set when the batch was dropped. */
  dropped?: DropReason;
  error?: string;
}

export interface EventWriterOptions {
  instanceId: string;
  /** Events held at most; beyond it enqueueEvent drops and counts. Default 100 000. */
  capacity?: number;
  /** SLI buckets held at most. Default 20 000. */
  sliCapacity?: number;
  flushIntervalMs?: number;
  /** Events written per transaction; a longer queue is flushed in several turns. Default 20 000. */
  maxBatch?: number;
  /**
   * Busy timeout while flushing, kept short so a lock held by another process costs the
   * gateway's event loop at most this long. Default 100 ms.
   */
  flushBusyTimeoutMs?: number;
  /** Longest pause between attempts after failures. Default 5000 ms. */
  maxBackoffMs?: number;
  /**
   * Run WAL checkpoints on a worker thread instead of inside flushes (which would then carry
   * the checkpoint's fsync). Default true.
   */
  backgroundCheckpoint?: boolean;
  /**
   * Every this many ms, roll SLI seconds up and resolve quiet incidents (see runMaintenance);
   * retention runs every `retentionIntervalMs`. 0 turns both off. Default 10 000.
   */
  maintenanceIntervalMs?: number;
  /** How often retention runs, each run deleting at most 10 batches of 5000 rows per table. Default 60 000. */
  retentionIntervalMs?: number;
  /** Also open and extend incidents from flushed events. Default true. */
  incidents?: boolean;
  onFlush?: (info: FlushInfo) => void;
}

export interface EventWriterStats {
  queued: number;
  queuedSli: number;
  written: number;
  writtenSli: number;
  /** Events dropped, by reason. */
  dropped: Record<DropReason, number>;
  /** SLI buckets dropped (any reason). */
  droppedSli: number;
  flushes: number;
  failures: number;
  lastError?: string;
  lastFlushAt?: number;
  /** The last failure of periodic upkeep (roll-ups, incidents, retention), if any. */
  maintenanceError?: string;
  /** False while the last flush failed. */
  healthy: boolean;
}

export interface EventWriter {
  enqueueEvent(e: ResilienceEvent): boolean;
  enqueueSli(buckets: readonly SliBucket[]): void;
  setSnapshot(s: InstanceSnapshot): void;
  stats(): EventWriterStats;
  /** Flush now, ignoring any back-off. Never throws. */
  flushNow(): void;
  /** Stop the timer and flush what is queued. */
  close(): Promise<void>;
}

export function classifyStoreError(e: unknown): Exclude<DropReason, "queue_full"> {
  const code = String((e as { code?: unknown })?.code ?? "");
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return "busy";
  if (code === "SQLITE_FULL") return "disk_full";
  return "store_error";
}

const noop = () => undefined;

export function createEventWriter(store: Store, opts: EventWriterOptions): EventWriter {
  const capacity = opts.capacity ?? 100_000;
  const sliCapacity = opts.sliCapacity ?? 20_000;
  const interval = opts.flushIntervalMs ?? 100;
  const maxBatch = Math.max(1, opts.maxBatch ?? 20_000);
  const flushBusy = Math.max(0, Math.floor(opts.flushBusyTimeoutMs ?? 100));
  const maxBackoff = opts.maxBackoffMs ?? 5000;
  const trackIncidents = opts.incidents ?? true;
  const onFlush = opts.onFlush ?? noop;
  const { sqlite } = store;

  let queue: ResilienceEvent[] = [];
  let sli: SliBucket[] = [];
  let snapshot: InstanceSnapshot | undefined;
  let closed = false;
  let backoffMs = 0;
  let resumeAt = 0;
  let immediate: NodeJS.Immediate | undefined;

  const s: EventWriterStats = {
    queued: 0,
    queuedSli: 0,
    written: 0,
    writtenSli: 0,
    dropped: { queue_full: 0, store_error: 0, disk_full: 0, busy: 0 },
    droppedSli: 0,
    flushes: 0,
    failures: 0,
    healthy: true,
  };

  function flush(force: boolean): void {
    if (!sqlite.open) return;
    if (!force && Date.now() < resumeAt) return;
    if (queue.length === 0 && sli.length === 0 && snapshot === undefined) return;
    let batch: ResilienceEvent[];
    if (queue.length <= maxBatch) {
      batch = queue;
      queue = [];
    } else {
      batch = queue.slice(0, maxBatch);
      queue = queue.slice(maxBatch);
    }
    const buckets = sli;
    sli = [];
    const snap = snapshot;
    snapshot = undefined;
    const t0 = performance.now();
    try {
      sqlite.pragma(`busy_timeout = ${flushBusy}`);
      const insS = prepared(store, SLI_UPSERT_SQL);
      sqlite
        .transaction(() => {
          insertEvents(store, opts.instanceId, batch);
          for (let i = 0; i < buckets.length; i++) insS.run(...bucketParams(buckets[i]!));
          if (snap)
            prepared(store, SNAPSHOT_UPSERT_SQL).run(
              snap.instanceId,
              snap.at,
              JSON.stringify(snap),
            );
          if (trackIncidents && batch.length > 0)
            updateIncidentsFromEvents(store, batch, Date.now());
        })
        .immediate();
      s.written += batch.length;
      s.writtenSli += buckets.length;
      s.flushes++;
      s.healthy = true;
      s.lastFlushAt = Date.now();
      backoffMs = 0;
      resumeAt = 0;
      safe(() =>
        onFlush({
          events: batch.length,
          buckets: buckets.length,
          snapshot: snap !== undefined,
          durationMs: performance.now() - t0,
        }),
      );
    } catch (e) {
      // better-sqlite3 rolls back its own transaction; SQLite may already have rolled back
      // (SQLITE_FULL, some IOERRs) — only roll back what is still open.
      if (sqlite.open && sqlite.inTransaction) safe(() => sqlite.exec("ROLLBACK"));
      const reason = classifyStoreError(e);
      s.dropped[reason] += batch.length;
      s.droppedSli += buckets.length;
      s.failures++;
      s.healthy = false;
      s.lastError = `${(e as { code?: string }).code ?? "ERROR"}: ${(e as Error).message}`;
      // The newest snapshot is kept for the next attempt; it replaces itself anyway.
      if (snap && snapshot === undefined) snapshot = snap;
      backoffMs = Math.min(maxBackoff, backoffMs === 0 ? interval : backoffMs * 2);
      resumeAt = Date.now() + backoffMs;
      safe(() =>
        onFlush({
          events: batch.length,
          buckets: buckets.length,
          snapshot: snap !== undefined,
          durationMs: performance.now() - t0,
          dropped: reason,
          error: s.lastError,
        }),
      );
    } finally {
      if (sqlite.open) safe(() => sqlite.pragma(`busy_timeout = ${store.busyTimeoutMs}`));
    }
    // A queue longer than one batch is drained on the next turn of the event loop.
    if (queue.length > 0 && resumeAt === 0 && !closed && immediate === undefined) {
      immediate = setImmediate(() => {
        immediate = undefined;
        flush(false);
      });
      immediate.unref();
    }
  }

  const timer = setInterval(() => flush(false), interval);
  timer.unref();
  const maintenanceMs = opts.maintenanceIntervalMs ?? 10_000;
  const retentionMs = opts.retentionIntervalMs ?? 60_000;
  let lastRetention = Date.now();
  const maintenance =
    maintenanceMs > 0
      ? setInterval(() => {
          if (closed || !sqlite.open) return;
          const now = Date.now();
          const retention = now - lastRetention >= retentionMs;
          try {
            sqlite.pragma(`busy_timeout = ${flushBusy}`);
            runMaintenance(store, { now, retention: retention && { maxBatches: 10 } });
            if (retention) lastRetention = now;
            delete s.maintenanceError;
          } catch (e) {
            if (sqlite.inTransaction) safe(() => sqlite.exec("ROLLBACK"));
            s.maintenanceError = `${(e as { code?: string }).code ?? "ERROR"}: ${(e as Error).message}`;
          } finally {
            if (sqlite.open) safe(() => sqlite.pragma(`busy_timeout = ${store.busyTimeoutMs}`));
          }
        }, maintenanceMs)
      : undefined;
  maintenance?.unref();
  const checkpointer = (opts.backgroundCheckpoint ?? true) && sqlite.open ? safeStart() : undefined;

  return {
    enqueueEvent(e) {
      if (closed || queue.length >= capacity) {
        s.dropped.queue_full++;
        return false;
      }
      queue.push(e);
      return true;
    },
    enqueueSli(buckets) {
      for (const b of buckets) {
        if (closed || sli.length >= sliCapacity) s.droppedSli++;
        else sli.push(b);
      }
    },
    setSnapshot(snap) {
      if (!closed) snapshot = snap;
    },
    stats() {
      return {
        ...s,
        queued: queue.length,
        queuedSli: sli.length,
        dropped: { ...s.dropped },
      };
    },
    flushNow() {
      // Drain every full batch, but stop on the first failure.
      do flush(true);
      while (queue.length > 0 && resumeAt === 0 && sqlite.open);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      if (maintenance) clearInterval(maintenance);
      if (immediate) clearImmediate(immediate);
      immediate = undefined;
      do flush(true);
      while (queue.length > 0 && resumeAt === 0 && sqlite.open);
      await checkpointer?.close();
    },
  };

  function safeStart() {
    try {
      return startCheckpointer(store);
    } catch {
      return undefined;
    }
  }

  function safe(fn: () => void): void {
    try {
      fn();
    } catch {
      // Reporting must never reach the caller.
    }
  }
}
