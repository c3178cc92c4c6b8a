import type { ResilienceEvent } from "@rg/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { queryEvents, readInstances, readSliSeries, type FlushInfo } from "../src/index";
import { bucket, eventCount, tempStore, type TempStore } from "./helpers";

let t: TempStore;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

const retry = (i: number): ResilienceEvent => ({
  type: "retry.scheduled",
  at: 1_000_000 + i,
  route: "payments",
  upstream: "payments",
  attempt: 1,
  delayMs: 10 + i,
  after: "http_5xx",
});

const countEvents = (tt: TempStore) => eventCount(tt.store);

describe("event writer", () => {
  it("writes events, SLI buckets and the latest snapshot in one flush", () => {
    const flushes: FlushInfo[] = [];
    const w = t.writer({ instanceId: "gw-1", onFlush: (i) => flushes.push(i) });
    for (let i = 0; i < 10; i++) expect(w.enqueueEvent(retry(i))).toBe(true);
    w.enqueueSli([bucket(5000, "payments", "payments", { success: 4 })]);
    w.enqueueSli([bucket(5000, "payments", "payments", { http_5xx: 1 })]);
    const snap = (at: number) => ({
      instanceId: "gw-1",
      pid: 1,
      startedAt: 0,
      at,
      revision: 1,
      mode: "normal" as const,
      upstreams: {},
      routes: {},
      inFlight: 0,
      telemetry: { queued: 0, written: 0, dropped: {} },
    });
    w.setSnapshot(snap(1));
    w.setSnapshot(snap(2));
    expect(w.stats().queued).toBe(10);
    w.flushNow();
    expect(w.stats()).toMatchObject({ queued: 0, written: 10, writtenSli: 2, healthy: true });
    expect(flushes).toHaveLength(1);
    expect(flushes[0]).toMatchObject({ events: 10, buckets: 2, snapshot: true });
    const evs = queryEvents(t.store, { route: "payments" });
    expect(evs).toHaveLength(10);
    expect(evs[0]!.event).toEqual(retry(9));
    expect(evs[0]!.instance).toBe("gw-1");
    const [p] = readSliSeries(t.store, { from: 5000, to: 6000 });
    expect(p).toMatchObject({ total: 5, success: 4, http5xx: 1 });
    expect(readInstances(t.store, 3)[0]).toMatchObject({ instanceId: "gw-1", heartbeatAt: 2 });
  });

  it("drops and counts when the queue is full, without blocking", () => {
    const w = t.writer({ instanceId: "gw", capacity: 5 });
    const accepted = Array.from({ length: 8 }, (_, i) => w.enqueueEvent(retry(i)));
    expect(accepted).toEqual([true, true, true, true, true, false, false, false]);
    expect(w.stats().dropped.queue_full).toBe(3);
    w.flushNow();
    expect(countEvents(t)).toBe(5);
  });

  it("drains a queue longer than one batch", () => {
    const w = t.writer({ instanceId: "gw", maxBatch: 100 });
    for (let i = 0; i < 1050; i++) w.enqueueEvent(retry(i));
    w.flushNow();
    expect(w.stats()).toMatchObject({ written: 1050, queued: 0, flushes: 11 });
    expect(countEvents(t)).toBe(1050);
  });

  it("on a full disk drops the batch by reason, never throws, and recovers when space is freed", () => {
    const w = t.writer({ instanceId: "gw", maxBatch: 1_000_000 });
    // Grow the file with some rows, then forbid it to grow further.
    for (let i = 0; i < 200; i++) w.enqueueEvent(retry(i));
    w.flushNow();
    const pages = t.store.sqlite.pragma("page_count", { simple: true }) as number;
    t.store.sqlite.pragma(`max_page_count = ${pages}`);
    const big = "x".repeat(2000);
    for (let i = 0; i < 2000; i++) w.enqueueEvent({ ...retry(i), route: big } as ResilienceEvent);
    expect(() => w.flushNow()).not.toThrow();
    const s = w.stats();
    expect(s.dropped.disk_full).toBe(2000);
    expect(s.healthy).toBe(false);
    expect(s.lastError).toMatch(/SQLITE_FULL/);
    expect(t.store.sqlite.inTransaction).toBe(false);
    expect(countEvents(t)).toBe(200);
    // The store stays usable for the rest of the process meanwhile.
    expect(queryEvents(t.store, { limit: 1 })).toHaveLength(1);
    // Space comes back: the next flush writes again.
    t.store.sqlite.pragma(`max_page_count = ${pages * 100}`);
    for (let i = 0; i < 50; i++) w.enqueueEvent(retry(i));
    w.flushNow();
    expect(w.stats()).toMatchObject({ healthy: true, written: 250 });
    expect(countEvents(t)).toBe(250);
    expect(t.store.sqlite.pragma("integrity_check", { simple: true })).toBe("ok");
  });

  it("counts a locked store as busy and backs off instead of blocking", () => {
    const other = t.reopen();
    const w = t.writer({ instanceId: "gw", flushBusyTimeoutMs: 20 });
    other.sqlite.exec("BEGIN IMMEDIATE");
    w.enqueueEvent(retry(1));
    const t0 = performance.now();
    w.flushNow();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(w.stats().dropped.busy).toBe(1);
    // The connection's own busy timeout is restored after the flush.
    expect(t.store.sqlite.pragma("busy_timeout", { simple: true })).toBe(5000);
    other.sqlite.exec("COMMIT");
    w.enqueueEvent(retry(2));
    w.flushNow();
    expect(w.stats()).toMatchObject({ written: 1, healthy: true });
  });

  it("never throws into the caller, even when the store is closed", async () => {
    const w = t.writer({ instanceId: "gw" });
    w.enqueueEvent(retry(1));
    await w.close();
    expect(countEvents(t)).toBe(1);
    expect(w.enqueueEvent(retry(2))).toBe(false);
    t.store.close();
    const w2 = t.writer({ instanceId: "gw" });
    expect(w2.enqueueEvent(retry(3))).toBe(true);
    expect(() => w2.flushNow()).not.toThrow();
    await expect(w2.close()).resolves.toBeUndefined();
  });

  it("on close counts what it could not write as dropped, leaving nothing queued", async () => {
    const other = t.reopen();
    const w = t.writer({ instanceId: "gw", maxBatch: 10, flushBusyTimeoutMs: 0 });
    other.sqlite.exec("BEGIN IMMEDIATE");
    for (let i = 0; i < 25; i++) w.enqueueEvent(retry(i));
    w.enqueueSli([bucket(5000, "payments", "payments", { success: 1 })]);
    // The first batch fails on the lock; the other two are never tried.
    await w.close();
    other.sqlite.exec("COMMIT");
    expect(w.stats()).toMatchObject({
      written: 0,
      queued: 0,
      queuedSli: 0,
      droppedSli: 1,
      dropped: { busy: 25, store_error: 0, disk_full: 0, queue_full: 0 },
    });
    expect(countEvents(t)).toBe(0);
    // A store closed under the writer: nothing can be written, all of it is a store error.
    const t2 = tempStore();
    const w2 = t2.writer({ instanceId: "gw" });
    for (let i = 0; i < 5; i++) w2.enqueueEvent(retry(i));
    w2.enqueueSli([bucket(5000, "payments", "payments", { success: 1 })]);
    t2.store.close();
    await w2.close();
    expect(w2.stats()).toMatchObject({
      written: 0,
      queued: 0,
      queuedSli: 0,
      droppedSli: 1,
      dropped: { store_error: 5 },
    });
    await t2.cleanup();
  });
});
