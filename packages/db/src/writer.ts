/**
 * The gateway's path into the store. Enqueueing is O(1) and does no I/O; a timer flushes the
 * queues every ~100 ms in one IMMEDIATE transaction of prepared statements (events go in as
 * chunks, one row per instance/type/route/upstream of the batch). When SQLite is
 * slow, locked, full or broken the batch is dropped and counted by reason, and flushing backs
 * off until the store recovers: the queues never grow past their capacity and nothing throws
 * into the caller.
 *
 * With `thread: true` the transactions run on a writer thread with its own connection
 * (writer-thread.ts): the event loop only hands each batch over, so neither a flush nor a lock
 * held by another process ever stalls it. Should the thread fail, the writer carries on
 * in-thread on the caller's connection.
 */
import { createRequire } from "node:module";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { InstanceSnapshot, ResilienceEvent, SliBucket } from "@rg/core";
import { startCheckpointer } from "./checkpointer";
import {
  committedMark,
  runUpkeep,
  safe,
  writeBatch,
  type FlushBatch,
  type StoreResult,
} from "./flush";
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
  /**
   * Run the SQLite work on a writer thread with its own connection (which then also carries
   * the WAL checkpoints, inside its commits). Lock waits there use the store's busy timeout
   * instead of `flushBusyTimeoutMs`, since they no longer cost the caller anything. Default
   * false.
   */
  thread?: boolean;
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
  /**
   * Where flushes run now: on the writer thread, or on the caller's thread (also while the
   * writer thread is still starting).
   */
  mode: "thread" | "in_thread";
  /** Why the writer thread stopped, when it did and the writer fell back to in-thread. */
  threadError?: string;
}

export interface EventWriter {
  enqueueEvent(e: ResilienceEvent): boolean;
  enqueueSli(buckets: readonly SliBucket[]): void;
  setSnapshot(s: InstanceSnapshot): void;
  stats(): EventWriterStats;
  /**
   * Flush everything queued now, ignoring any back-off, stopping at the first failure. Never
   * throws or rejects. In-thread the work is done before this returns; with a writer thread
   * the promise settles when it is.
   */
  flushNow(): Promise<void>;
  /**
   * With `thread`: resolves true once flushes run on the writer thread, false if it never
   * will (not asked for, failed to start, or died first). Until then they run in-thread.
   */
  threadReady(): Promise<boolean>;
  /**
   * Stop the timer and flush what is queued. What cannot be written (a flush fails, the
   * store is closed) is counted as dropped, so nothing is left queued afterwards.
   */
  close(): Promise<void>;
}

export function classifyStoreError(e: unknown): Exclude<DropReason, "queue_full"> {
  const code = String((e as { code?: unknown })?.code ?? "");
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return "busy";
  if (code === "SQLITE_FULL") return "disk_full";
  return "store_error";
}

const noop = () => undefined;

/** The writer thread's young-generation cap (see threadSink). */
const YOUNG_GENERATION_MB = 4;

/** The code of a StoreResult for work the writer thread took but never answered. */
const THREAD_FAILED = "WRITER_THREAD";

/** Where a writer's SQLite work runs. In-thread sinks answer synchronously, the thread's with a promise. */
interface Sink {
  flush(b: FlushBatch): StoreResult | Promise<StoreResult>;
  upkeep(now: number, retention: boolean): StoreResult | Promise<StoreResult>;
  /** False once nothing can be written any more (the store is closed). */
  usable(): boolean;
  /** Mark the batches handed to it (FlushBatch.mark): it may die between commit and answer. */
  marks: boolean;
  close(): Promise<void>;
}

function inThreadSink(store: Store, flushBusy: number, background: boolean): Sink {
  const checkpointer = background && store.sqlite.open ? safeStart(store) : undefined;
  return {
    flush: (b) => writeBatch(store, b, flushBusy),
    upkeep: (now, retention) => runUpkeep(store, now, retention, flushBusy),
    usable: () => store.sqlite.open,
    marks: false,
    close: async () => {
      await checkpointer?.close();
    },
  };
}

function safeStart(store: Store) {
  try {
    return startCheckpointer(store);
  } catch {
    return undefined;
  }
}

export function createEventWriter(store: Store, opts: EventWriterOptions): EventWriter {
  const capacity = opts.capacity ?? 100_000;
  const sliCapacity = opts.sliCapacity ?? 20_000;
  const interval = opts.flushIntervalMs ?? 100;
  const maxBatch = Math.max(1, opts.maxBatch ?? 20_000);
  const flushBusy = Math.max(0, Math.floor(opts.flushBusyTimeoutMs ?? 100));
  const maxBackoff = opts.maxBackoffMs ?? 5000;
  const trackIncidents = opts.incidents ?? true;
  const background = opts.backgroundCheckpoint ?? true;
  const onFlush = opts.onFlush ?? noop;

  let queue: ResilienceEvent[] = [];
  let sli: SliBucket[] = [];
  let snapshot: InstanceSnapshot | undefined;
  let closed = false;
  let backoffMs = 0;
  let resumeAt = 0;
  let immediate: NodeJS.Immediate | undefined;
  /** The flush the writer thread is working on; at most one at a time. */
  let inFlight: Promise<void> | undefined;
  let upkeepInFlight = false;
  /** Why the last flush failed, if one has; what close() counts its leftovers under. */
  let lastReason: Exclude<DropReason, "queue_full"> | undefined;

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
    mode: "in_thread",
  };

  let sink: Sink;
  /**
   * Until the writer thread has started (its loader and modules take from half a second to a
   * few seconds on a busy machine), flushes run in-thread here, so nothing waits on start-up.
   */
  let early: Sink | undefined;
  let threadReady: Promise<boolean> = Promise.resolve(false);
  if (opts.thread && store.sqlite.open && store.path !== ":memory:" && store.path !== "") {
    early = inThreadSink(store, flushBusy, false);
    const t = threadSink(
      store,
      () => {
        early = undefined;
        s.mode = "thread";
      },
      (reason) => {
        // The thread is gone: carry on here, on the caller's connection.
        early = undefined;
        s.mode = "in_thread";
        s.threadError = reason;
        sink = inThreadSink(store, flushBusy, background && !closed);
      },
    );
    sink = t.sink;
    threadReady = t.ready;
  } else {
    sink = inThreadSink(store, flushBusy, background);
  }
  /** Where the next flush or upkeep run goes. */
  const active = () => early ?? sink;

  function flush(force: boolean): void {
    if (inFlight || !active().usable()) return;
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
    const b: FlushBatch = {
      instanceId: opts.instanceId,
      events: batch,
      buckets,
      snapshot: snap,
      incidents: trackIncidents,
    };
    const used = active();
    // Random, so no other writer's batch carries the same mark.
    if (used.marks) b.mark = Math.floor(Math.random() * Number.MAX_SAFE_INTEGER);
    const result = used.flush(b);
    if (result instanceof Promise) {
      inFlight = result.then((r) => {
        inFlight = undefined;
        // The thread died with this batch: unless its mark shows it committed the batch before
        // dying, write it in-thread rather than lose it. (Should another writer have committed
        // a marked batch since, the mark is gone and the batch is written twice.)
        if (!r.ok && r.code === THREAD_FAILED && active() !== used && active().usable()) {
          if (b.mark !== undefined && committedMark(store, b.mark)) {
            r = { ok: true, durationMs: r.durationMs };
          } else {
            delete b.mark;
            const again = active().flush(b);
            if (!(again instanceof Promise)) r = again;
          }
        }
        settle(r, batch, buckets, snap);
      });
    } else {
      settle(result, batch, buckets, snap);
    }
  }

  function settle(
    r: StoreResult,
    batch: ResilienceEvent[],
    buckets: SliBucket[],
    snap: InstanceSnapshot | undefined,
  ): void {
    let reason: Exclude<DropReason, "queue_full"> | undefined;
    if (r.ok) {
      s.written += batch.length;
      s.writtenSli += buckets.length;
      s.flushes++;
      s.healthy = true;
      s.lastFlushAt = Date.now();
      backoffMs = 0;
      resumeAt = 0;
    } else {
      reason = classifyStoreError(r);
      lastReason = reason;
      s.dropped[reason] += batch.length;
      s.droppedSli += buckets.length;
      s.failures++;
      s.healthy = false;
      s.lastError = `${r.code}: ${r.message}`;
      // The newest snapshot is kept for the next attempt; it replaces itself anyway.
      if (snap && snapshot === undefined) snapshot = snap;
      backoffMs = Math.min(maxBackoff, backoffMs === 0 ? interval : backoffMs * 2);
      resumeAt = Date.now() + backoffMs;
    }
    const info: FlushInfo = {
      events: batch.length,
      buckets: buckets.length,
      snapshot: snap !== undefined,
      durationMs: r.durationMs,
    };
    if (reason !== undefined) {
      info.dropped = reason;
      info.error = s.lastError;
    }
    // Reporting must never reach the caller.
    safe(() => onFlush(info));
    // A queue longer than one batch is drained on the next turn of the event loop.
    if (queue.length > 0 && resumeAt === 0 && !closed && immediate === undefined) {
      immediate = setImmediate(() => {
        immediate = undefined;
        flush(false);
      });
      immediate.unref();
    }
  }

  /** Whether anything is queued: events, SLI buckets or a snapshot. */
  const pending = () => queue.length > 0 || sli.length > 0 || snapshot !== undefined;

  /**
   * Flush until nothing is queued or a flush fails; synchronous when nothing is in flight.
   * What was queued while a flush was in flight is flushed after it.
   */
  function drain(): Promise<void> | undefined {
    const more = () => pending() && resumeAt === 0 && active().usable();
    do {
      flush(true);
      if (inFlight) return inFlight.then(() => (more() ? drain() : undefined));
    } while (more());
    return undefined;
  }

  const timer = setInterval(() => flush(false), interval);
  timer.unref();
  const maintenanceMs = opts.maintenanceIntervalMs ?? 10_000;
  const retentionMs = opts.retentionIntervalMs ?? 60_000;
  let lastRetention = Date.now();
  const maintenance =
    maintenanceMs > 0
      ? setInterval(() => {
          if (closed || upkeepInFlight || !active().usable()) return;
          const now = Date.now();
          const retention = now - lastRetention >= retentionMs;
          const done = (r: StoreResult) => {
            upkeepInFlight = false;
            if (r.ok) {
              if (retention) lastRetention = now;
              delete s.maintenanceError;
            } else {
              s.maintenanceError = `${r.code}: ${r.message}`;
            }
          };
          upkeepInFlight = true;
          const r = active().upkeep(now, retention);
          if (r instanceof Promise) void r.then(done);
          else done(r);
        }, maintenanceMs)
      : undefined;
  maintenance?.unref();

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
      return drain() ?? Promise.resolve();
    },
    threadReady() {
      return threadReady;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      if (maintenance) clearInterval(maintenance);
      if (immediate) clearImmediate(immediate);
      immediate = undefined;
      await drain();
      // What drain could not write (it stops at a failed flush or an unusable store) will
      // never be: count it as dropped rather than lose it.
      const reason = active().usable() ? (lastReason ?? "store_error") : "store_error";
      s.dropped[reason] += queue.length;
      s.droppedSli += sli.length;
      queue = [];
      sli = [];
      snapshot = undefined;
      await sink.close();
    },
  };
}

/** What the writer thread is started with. */
export interface WriterThreadData {
  path: string;
  busyTimeoutMs: number;
}

export type ThreadRequest =
  | { kind: "flush"; seq: number; batch: FlushBatch }
  | { kind: "upkeep"; seq: number; now: number; retention: boolean }
  | { kind: "close" };

export type ThreadReply = { kind: "ready" } | { kind: "result"; seq: number; result: StoreResult };

/**
 * Evaluated as the worker's script (plain CommonJS): loads the writer-thread module, through
 * tsx's in-thread require hook when that module is TypeScript source. (tsx's ESM hooks would
 * start one more thread, with its own copy of the loader, for the worker's imports.)
 */
const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
if (workerData.tsx) require(workerData.tsx).register();
require(workerData.entry);
`;

/** Tests point this at a stand-in thread module to see the writer survive its thread. */
export const writerThreadModule: { path?: string } = {};

function threadEntry(): { entry: string; tsx?: string } {
  const here = fileURLToPath(import.meta.url);
  const entry = writerThreadModule.path ?? join(dirname(here), `writer-thread${extname(here)}`);
  if (extname(entry) !== ".ts") return { entry };
  return { entry, tsx: createRequire(here).resolve("tsx/cjs/api") };
}

/**
 * A sink on a writer thread. Requests are answered in order; `onReady` is told once the thread
 * has loaded. When the thread dies or cannot start, every unanswered request fails as a store
 * error and `onDead` is told once.
 */
function threadSink(
  store: Store,
  onReady: () => void,
  onDead: (reason: string) => void,
): { sink: Sink; ready: Promise<boolean> } {
  const pending = new Map<number, (r: StoreResult) => void>();
  let seq = 0;
  let dead: string | undefined;
  let started = false;
  let resolveReady: (up: boolean) => void = noop;
  const ready = new Promise<boolean>((r) => (resolveReady = r));
  let worker: Worker | undefined;
  const fail = (reason: string) => {
    if (dead !== undefined) return;
    dead = reason;
    for (const resolve of pending.values())
      resolve({ ok: false, durationMs: 0, code: THREAD_FAILED, message: reason });
    pending.clear();
    resolveReady(false);
    onDead(reason);
  };
  try {
    const { entry, tsx } = threadEntry();
    const data: WriterThreadData & { entry: string; tsx?: string } = {
      path: store.path,
      busyTimeoutMs: store.busyTimeoutMs,
      entry,
      ...(tsx ? { tsx } : {}),
    };
    worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: data,
      // A small young generation: V8's default lets it grow to tens of MB under the steady
      // allocation of decoding batches, all of it resident memory of the gateway process.
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    worker.unref();
    worker.on("message", (m: ThreadReply) => {
      if (m.kind === "ready") {
        if (!started && dead === undefined) {
          started = true;
          onReady();
          resolveReady(true);
        }
        return;
      }
      const resolve = pending.get(m.seq);
      pending.delete(m.seq);
      resolve?.(m.result);
    });
    worker.on("error", (e) => fail(`writer thread failed: ${e.message}`));
    worker.on("exit", (code) => fail(`writer thread exited with code ${code}`));
  } catch (e) {
    queueMicrotask(() => fail(`writer thread did not start: ${(e as Error).message}`));
  }
  const request = (m: ThreadRequest & { seq: number }): Promise<StoreResult> =>
    new Promise((resolve) => {
      if (dead !== undefined || !worker) {
        resolve({ ok: false, durationMs: 0, code: THREAD_FAILED, message: dead ?? "not started" });
        return;
      }
      pending.set(m.seq, resolve);
      try {
        worker.postMessage(m);
      } catch (e) {
        // A batch the structured clone refuses (a value that is not plain data).
        pending.delete(m.seq);
        resolve({
          ok: false,
          durationMs: 0,
          code: String((e as { name?: unknown })?.name ?? "ERROR"),
          message: e instanceof Error ? e.message : String(e),
        });
      }
    });
  const sink: Sink = {
    flush: (batch) => request({ kind: "flush", seq: ++seq, batch }),
    upkeep: (now, retention) => request({ kind: "upkeep", seq: ++seq, now, retention }),
    usable: () => dead === undefined || store.sqlite.open,
    marks: true,
    close: () => {
      const w = worker;
      if (!w || dead !== undefined) return Promise.resolve();
      dead = "closed";
      resolveReady(started);
      return new Promise<void>((resolve) => {
        const t = setTimeout(() => void w.terminate(), 5000);
        w.once("exit", () => {
          clearTimeout(t);
          resolve();
        });
        w.postMessage({ kind: "close" } satisfies ThreadRequest);
      });
    },
  };
  return { sink, ready };
}
