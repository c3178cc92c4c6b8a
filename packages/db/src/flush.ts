/**
 * The SQLite work of one writer flush and of the writer's periodic upkeep. Both the
 * in-thread writer and its writer thread run exactly this; results are plain data so they
 * cross a thread boundary unchanged.
 */
import type { InstanceSnapshot, ResilienceEvent, SliBucket } from "@rg/core";
import { insertEvents } from "./events";
import { updateIncidentsFromEvents } from "./incidents";
import { SNAPSHOT_UPSERT_SQL } from "./live";
import { runMaintenance } from "./maintenance";
import { bucketParams, prepared, SLI_UPSERT_SQL } from "./sli";
import type { Store } from "./store";

export interface FlushBatch {
  instanceId: string;
  events: ResilienceEvent[];
  buckets: SliBucket[];
  snapshot?: InstanceSnapshot | undefined;
  /** Also open and extend incidents from the events. */
  incidents: boolean;
  /**
   * Set on batches handed to a writer thread: written to store_meta (BATCH_MARK_KEY) in the
   * batch's own transaction, so that after the thread dies its caller can tell whether the
   * batch was committed before rewriting it.
   */
  mark?: number | undefined;
}

/** The store_meta key holding the mark of the last marked batch any writer committed. */
export const BATCH_MARK_KEY = "writer_batch_mark";

/** Whether the last marked batch committed is the one marked `mark`. Never throws. */
export function committedMark(store: Store, mark: number): boolean {
  try {
    const stmt = prepared(store, "SELECT value FROM store_meta WHERE key = ?").pluck();
    return stmt.get(BATCH_MARK_KEY) === mark;
  } catch {
    return false;
  }
}

export type StoreResult =
  | { ok: true; durationMs: number }
  | { ok: false; durationMs: number; code: string; message: string };

/**
 * Run `fn` with the connection's busy timeout set to `busyTimeoutMs` (restored afterwards),
 * rolling back whatever is left open when it throws. Never throws.
 */
function guarded(store: Store, busyTimeoutMs: number, fn: () => void): StoreResult {
  const { sqlite } = store;
  const t0 = performance.now();
  // The writer thread waits with its connection's own timeout: nothing to set or restore.
  const own = busyTimeoutMs === store.busyTimeoutMs;
  try {
    if (!own) sqlite.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    fn();
    return { ok: true, durationMs: performance.now() - t0 };
  } catch (e) {
    // better-sqlite3 rolls back its own transaction; SQLite may already have rolled back
    // (SQLITE_FULL, some IOERRs) — only roll back what is still open.
    if (sqlite.open && sqlite.inTransaction) safe(() => sqlite.exec("ROLLBACK"));
    return {
      ok: false,
      durationMs: performance.now() - t0,
      code: String((e as { code?: unknown })?.code ?? "ERROR"),
      message: e instanceof Error ? e.message : String(e),
    };
  } finally {
    if (!own && sqlite.open) safe(() => sqlite.pragma(`busy_timeout = ${store.busyTimeoutMs}`));
  }
}

/** Write one batch in one IMMEDIATE transaction of prepared statements. */
export function writeBatch(store: Store, b: FlushBatch, busyTimeoutMs: number): StoreResult {
  return guarded(store, busyTimeoutMs, () => {
    const insS = prepared(store, SLI_UPSERT_SQL);
    store.sqlite
      .transaction(() => {
        insertEvents(store, b.instanceId, b.events);
        for (let i = 0; i < b.buckets.length; i++) insS.run(...bucketParams(b.buckets[i]!));
        const snap = b.snapshot;
        if (snap)
          prepared(store, SNAPSHOT_UPSERT_SQL).run(snap.instanceId, snap.at, JSON.stringify(snap));
        if (b.incidents && b.events.length > 0)
          updateIncidentsFromEvents(store, b.events, Date.now());
        if (b.mark !== undefined)
          prepared(
            store,
            "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
          ).run(BATCH_MARK_KEY, b.mark);
      })
      .immediate();
  });
}

/** Roll-ups and quiet incidents, plus (when `retention`) at most 10 retention batches. */
export function runUpkeep(
  store: Store,
  now: number,
  retention: boolean,
  busyTimeoutMs: number,
): StoreResult {
  return guarded(store, busyTimeoutMs, () => {
    runMaintenance(store, { now, retention: retention && { maxBatches: 10 } });
  });
}

/** Run `fn`, swallowing what it throws: for clean-up and reporting that must not fail their caller. */
export function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // Never replaces the error being reported, never reaches the caller.
  }
}
