import { fileURLToPath } from "node:url";
import type { ResilienceEvent } from "@rg/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createEventWriter, readInstances, readSliSeries } from "../src/index";
import { writerThreadModule } from "../src/writer";
import { bucket, eventCount, tempStore, type TempStore } from "./helpers";

let t: TempStore;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => {
  delete writerThreadModule.path;
  return t.cleanup();
});

const retryAt = (i: number) => ({
  type: "retry.scheduled" as const,
  at: 1_000_000 + i,
  route: "payments",
  upstream: "payments",
  attempt: 1,
  delayMs: 10 + i,
  after: "http_5xx" as const,
});
const retry = (i: number): ResilienceEvent => retryAt(i);

const turn = () => new Promise<void>((r) => setImmediate(r));

describe("event writer on a writer thread", () => {
  it("writes events, SLI buckets and the snapshot from its own connection", async () => {
    const w = t.writer({ instanceId: "gw-1", thread: true });
    expect(await w.threadReady()).toBe(true);
    expect(w.stats().mode).toBe("thread");
    for (let i = 0; i < 10; i++) w.enqueueEvent(retry(i));
    w.enqueueSli([bucket(5000, "payments", "payments", { success: 4 })]);
    w.setSnapshot({
      instanceId: "gw-1",
      pid: 1,
      startedAt: 0,
      at: 2,
      revision: 1,
      mode: "normal",
      upstreams: {},
      routes: {},
      inFlight: 0,
      telemetry: { queued: 0, written: 0, dropped: {} },
    });
    await w.flushNow();
    expect(eventCount(t.store)).toBe(10);
    const [p] = readSliSeries(t.store, { from: 5000, to: 6000 });
    expect(p).toMatchObject({ total: 4, success: 4 });
    expect(readInstances(t.store, 3)[0]).toMatchObject({ instanceId: "gw-1", heartbeatAt: 2 });
    expect(w.stats()).toMatchObject({ written: 10, writtenSli: 1, healthy: true, mode: "thread" });
    await w.close();
  });

  it("writes in-thread while the thread starts, so nothing waits on its start-up", async () => {
    const w = t.writer({ instanceId: "gw", thread: true });
    // The thread cannot have answered yet: this turn of the event loop has not ended.
    expect(w.stats().mode).toBe("in_thread");
    w.enqueueEvent(retry(1));
    const done = w.flushNow();
    expect(eventCount(t.store)).toBe(1);
    await done;
    expect(await w.threadReady()).toBe(true);
    expect(w.stats()).toMatchObject({ mode: "thread", written: 1 });
    w.enqueueEvent(retry(2));
    await w.flushNow();
    expect(eventCount(t.store)).toBe(2);
    await w.close();
  });

  it("waits out another connection's write lock off the event loop and drops nothing", async () => {
    const other = t.reopen();
    const w = t.writer({ instanceId: "gw", thread: true });
    expect(await w.threadReady()).toBe(true);
    // The thread is up and has written once.
    w.enqueueEvent(retry(0));
    await w.flushNow();
    other.sqlite.exec("BEGIN IMMEDIATE");
    for (let i = 1; i <= 5; i++) w.enqueueEvent(retry(i));
    const done = w.flushNow();
    // The flush is waiting on the lock in the writer thread while this loop keeps turning.
    let settled = false;
    void done.then(() => (settled = true));
    for (let i = 0; i < 20; i++) await turn();
    expect(settled).toBe(false);
    expect(eventCount(t.store)).toBe(1);
    other.sqlite.exec("COMMIT");
    await done;
    // In-thread, the same flush would have waited flushBusyTimeoutMs and dropped the batch.
    expect(eventCount(t.store)).toBe(6);
    expect(w.stats()).toMatchObject({
      written: 6,
      healthy: true,
      dropped: { busy: 0, store_error: 0, disk_full: 0, queue_full: 0 },
    });
    // The caller's connection kept its own busy timeout throughout.
    expect(t.store.sqlite.pragma("busy_timeout", { simple: true })).toBe(5000);
    await w.close();
  });

  it("drains a queue longer than one batch on close, then ends the thread", async () => {
    const w = t.writer({ instanceId: "gw", thread: true, maxBatch: 7 });
    expect(await w.threadReady()).toBe(true);
    for (let i = 0; i < 50; i++) w.enqueueEvent(retry(i));
    await w.close();
    expect(eventCount(t.store)).toBe(50);
    expect(w.stats()).toMatchObject({ written: 50, queued: 0, mode: "thread" });
    expect(w.enqueueEvent(retry(99))).toBe(false);
  });

  it("on close writes the SLI buckets and snapshot queued while a flush was in flight", async () => {
    const w = t.writer({ instanceId: "gw-1", thread: true });
    expect(await w.threadReady()).toBe(true);
    w.enqueueEvent(retry(1));
    // The timer's flush, in flight on the thread when shutdown queues its last buckets.
    void w.flushNow();
    w.enqueueSli([bucket(5000, "payments", "payments", { success: 7 })]);
    w.setSnapshot({
      instanceId: "gw-1",
      pid: 1,
      startedAt: 0,
      at: 9,
      revision: 1,
      mode: "normal",
      upstreams: {},
      routes: {},
      inFlight: 0,
      telemetry: { queued: 0, written: 0, dropped: {} },
    });
    await w.close();
    expect(w.stats()).toMatchObject({ written: 1, writtenSli: 1, droppedSli: 0, queuedSli: 0 });
    expect(readSliSeries(t.store, { from: 5000, to: 6000 })[0]).toMatchObject({ success: 7 });
    expect(readInstances(t.store, 3)[0]).toMatchObject({ instanceId: "gw-1", heartbeatAt: 9 });
  });

  it("drops and counts a batch that cannot be handed to the thread, then carries on", async () => {
    const w = t.writer({ instanceId: "gw", thread: true });
    expect(await w.threadReady()).toBe(true);
    // A function where a number belongs: not plain data, so it cannot be cloned.
    const bad: ResilienceEvent = { ...retryAt(1), delayMs: (() => 1) as unknown as number };
    w.enqueueEvent(bad);
    await w.flushNow();
    expect(w.stats()).toMatchObject({ written: 0, healthy: false, mode: "thread" });
    expect(w.stats().dropped.store_error).toBe(1);
    expect(w.stats().lastError).toMatch(/DataCloneError/);
    w.enqueueEvent(retry(2));
    await w.flushNow();
    expect(eventCount(t.store)).toBe(1);
    expect(w.stats()).toMatchObject({ written: 1, healthy: true });
    await w.close();
  });

  it("carries on in-thread when its thread dies, rewriting the batch the thread took", async () => {
    writerThreadModule.path = fileURLToPath(
      new URL("./fixtures/dying-writer-thread.ts", import.meta.url),
    );
    const w = t.writer({ instanceId: "gw", thread: true });
    // The stand-in says it is ready, then dies on the first batch it is given.
    expect(await w.threadReady()).toBe(true);
    for (let i = 0; i < 3; i++) w.enqueueEvent(retry(i));
    await w.flushNow();
    expect(eventCount(t.store)).toBe(3);
    expect(w.stats()).toMatchObject({ mode: "in_thread", written: 3, healthy: true });
    expect(w.stats().threadError).toMatch(/exited with code 3/);
    // Later flushes run in-thread on the caller's connection.
    w.enqueueEvent(retry(3));
    await w.flushNow();
    expect(eventCount(t.store)).toBe(4);
    await w.close();
  });

  it("does not write a batch twice when its thread committed it before dying", async () => {
    writerThreadModule.path = fileURLToPath(
      new URL("./fixtures/committing-dying-writer-thread.ts", import.meta.url),
    );
    const w = t.writer({ instanceId: "gw", thread: true });
    expect(await w.threadReady()).toBe(true);
    for (let i = 0; i < 3; i++) w.enqueueEvent(retry(i));
    w.enqueueSli([bucket(5000, "payments", "payments", { success: 4 })]);
    await w.flushNow();
    expect(w.stats().threadError).toMatch(/exited with code 4/);
    expect(eventCount(t.store)).toBe(3);
    expect(readSliSeries(t.store, { from: 5000, to: 6000 })[0]).toMatchObject({ success: 4 });
    expect(w.stats()).toMatchObject({
      mode: "in_thread",
      written: 3,
      writtenSli: 1,
      healthy: true,
    });
    // Later flushes run in-thread.
    w.enqueueEvent(retry(3));
    await w.flushNow();
    expect(eventCount(t.store)).toBe(4);
    await w.close();
  });

  it("runs periodic upkeep on the thread and reports its failures", async () => {
    const store = t.reopen({ busyTimeoutMs: 50 });
    const w = createEventWriter(store, {
      instanceId: "gw",
      thread: true,
      maintenanceIntervalMs: 20,
    });
    expect(await w.threadReady()).toBe(true);
    w.enqueueEvent(retry(1));
    await w.flushNow();
    // Upkeep takes the write lock; held elsewhere past the thread's busy timeout, it fails.
    const other = t.reopen();
    other.sqlite.exec("BEGIN IMMEDIATE");
    await expect.poll(() => w.stats().maintenanceError, { timeout: 5000 }).toMatch(/SQLITE_BUSY/);
    other.sqlite.exec("COMMIT");
    await expect.poll(() => w.stats().maintenanceError, { timeout: 5000 }).toBeUndefined();
    await w.close();
  });
});
