import { describe, expect, it } from "vitest";
import { bulkheadSchema } from "../../config/schema";
import type { BulkheadConfig } from "../../config/schema";
import { EventBus } from "../../events";
import type { ResilienceEvent } from "../../events";
import { FakeClock, flushMicrotasks } from "../../testing";
import { Bulkhead } from "./bulkhead";
import type { BulkheadPermit, BulkheadResult } from "./bulkhead.options";

function setup(over: Partial<BulkheadConfig> = {}) {
  const clock = new FakeClock();
  const events = new EventBus();
  const seen: ResilienceEvent[] = [];
  events.on((e) => seen.push(e));
  const config = bulkheadSchema.parse({
    maxConcurrent: 2,
    maxQueue: 2,
    queueTimeoutMs: 100,
    ...over,
  });
  const bh = new Bulkhead({ name: "payments", config, clock, events, upstream: "payments" });
  return { clock, events, seen, bh };
}

function permit(r: BulkheadResult | Promise<BulkheadResult>): BulkheadPermit {
  if (r instanceof Promise || !r.ok) throw new Error("expected a synchronous permit");
  return r;
}

/** Tracks how a queued acquisition settled. */
function track(r: BulkheadResult | Promise<BulkheadResult>) {
  const box: { result?: BulkheadResult } = {};
  if (r instanceof Promise) void r.then((x) => (box.result = x));
  else box.result = r;
  return box;
}

describe("Bulkhead", () => {
  it("admits exactly maxConcurrent synchronously, then queues up to maxQueue, then rejects", () => {
    const { bh, seen } = setup({ maxConcurrent: 3, maxQueue: 2 });
    const results = Array.from({ length: 6 }, () => bh.acquire("c"));
    expect(results.slice(0, 3).every((r) => !(r instanceof Promise) && r.ok)).toBe(true);
    expect(results[3]).toBeInstanceOf(Promise);
    expect(results[4]).toBeInstanceOf(Promise);
    expect(results[5]).toEqual({ ok: false, reason: "queue_full" });
    expect(bh.snapshot()).toEqual({
      inFlight: 3,
      queued: 2,
      maxConcurrent: 3,
      maxQueue: 2,
      rejected: 1,
    });
    expect(seen).toEqual([
      expect.objectContaining({
        type: "bulkhead.rejected",
        reason: "queue_full",
        upstream: "payments",
      }),
    ]);
  });

  it("rejects at once when maxQueue is 0", () => {
    const { bh } = setup({ maxConcurrent: 1, maxQueue: 0 });
    permit(bh.acquire("c"));
    expect(bh.acquire("c")).toEqual({ ok: false, reason: "queue_full" });
  });

  it("times a waiter out after queueTimeoutMs and frees its queue place", async () => {
    const { bh, clock, seen } = setup({ maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 100 });
    permit(bh.acquire("c"));
    const waiting = track(bh.acquire("c"));
    await clock.advanceAsync(99);
    expect(waiting.result).toBeUndefined();
    await clock.advanceAsync(1);
    expect(waiting.result).toEqual({ ok: false, reason: "queue_timeout" });
    expect(bh.snapshot().queued).toBe(0);
    expect(seen.map((e) => e.type === "bulkhead.rejected" && e.reason)).toEqual(["queue_timeout"]);
    expect(bh.acquire("c")).toBeInstanceOf(Promise);
  });

  it("waits at most maxWaitMs when that is shorter, answering deadline without a rejection", async () => {
    const { bh, clock, seen } = setup({ maxConcurrent: 1, maxQueue: 2, queueTimeoutMs: 100 });
    permit(bh.acquire("c"));
    const short = track(bh.acquire("c", undefined, 40));
    const long = track(bh.acquire("c", undefined, 500));
    await clock.advanceAsync(39);
    expect(short.result).toBeUndefined();
    await clock.advanceAsync(1);
    expect(short.result).toEqual({ ok: false, reason: "deadline" });
    expect(bh.snapshot()).toMatchObject({ queued: 1, rejected: 0 });
    expect(seen).toHaveLength(0);
    // A longer maxWaitMs leaves the queue timeout in charge.
    await clock.advanceAsync(60);
    expect(long.result).toEqual({ ok: false, reason: "queue_timeout" });
    // Nothing left to wait: refused at once, not queued.
    expect(bh.acquire("c", undefined, 0)).toEqual({ ok: false, reason: "deadline" });
    expect(bh.snapshot().queued).toBe(0);
  });

  it("hands freed slots to waiters in FIFO order and cancels their timers", async () => {
    const { bh, clock } = setup({ maxConcurrent: 1, maxQueue: 3 });
    const first = permit(bh.acquire("c"));
    const order: string[] = [];
    const ps = ["a", "b", "c"].map((name) => {
      const r = bh.acquire("c");
      if (!(r instanceof Promise)) throw new Error("expected to queue");
      return r.then((x) => {
        order.push(name);
        return x;
      });
    });
    first.release();
    await flushMicrotasks();
    expect(order).toEqual(["a"]);
    const a = await ps[0]!;
    expect(a.ok).toBe(true);
    if (a.ok) a.release();
    await flushMicrotasks();
    expect(order).toEqual(["a", "b"]);
    const b = await ps[1]!;
    if (b.ok) b.release();
    await flushMicrotasks();
    expect(order).toEqual(["a", "b", "c"]);
    // The admitted waiters' timers were cancelled, so none is left pending.
    expect(clock.pendingTimers).toBe(0);
    expect(bh.snapshot()).toMatchObject({ inFlight: 1, queued: 0, rejected: 0 });
  });

  it("does not let a newcomer jump the queue while someone waits", async () => {
    const { bh } = setup({ maxConcurrent: 1, maxQueue: 2 });
    const first = permit(bh.acquire("c"));
    const waiter = track(bh.acquire("c"));
    first.release();
    // The slot went to the waiter, so the newcomer must queue.
    expect(bh.acquire("c")).toBeInstanceOf(Promise);
    await flushMicrotasks();
    expect(waiter.result?.ok).toBe(true);
  });

  it("removes an aborted waiter from the queue without counting a rejection", async () => {
    const { bh, clock, seen } = setup({ maxConcurrent: 1, maxQueue: 2 });
    const first = permit(bh.acquire("c"));
    const ac = new AbortController();
    const aborted = track(bh.acquire("c", ac.signal));
    const next = track(bh.acquire("c"));
    ac.abort();
    await flushMicrotasks();
    expect(aborted.result).toEqual({ ok: false, reason: "aborted" });
    expect(bh.snapshot()).toMatchObject({ queued: 1, rejected: 0 });
    expect(clock.pendingTimers).toBe(1);
    first.release();
    await flushMicrotasks();
    expect(next.result?.ok).toBe(true);
    expect(seen).toEqual([]);
  });

  it("answers an already-aborted signal without queueing", () => {
    const { bh } = setup({ maxConcurrent: 1 });
    permit(bh.acquire("c"));
    const ac = new AbortController();
    ac.abort();
    expect(bh.acquire("c", ac.signal)).toEqual({ ok: false, reason: "aborted" });
    expect(bh.snapshot().queued).toBe(0);
  });

  it("caps each consumer's in-flight plus queued calls", async () => {
    const { bh, seen } = setup({ maxConcurrent: 2, maxQueue: 5, perConsumerMaxConcurrent: 2 });
    const a1 = permit(bh.acquire("alice"));
    const a2 = track(bh.acquire("bob"));
    expect(a2.result?.ok).toBe(true);
    const a3 = track(bh.acquire("alice")); // queued: alice holds 1 + 1 waiting
    expect(bh.acquire("alice")).toEqual({ ok: false, reason: "consumer_limit" });
    expect(bh.acquire("bob")).toBeInstanceOf(Promise); // bob still has room
    expect(seen.map((e) => e.type === "bulkhead.rejected" && e.reason)).toEqual(["consumer_limit"]);
    a1.release();
    await flushMicrotasks();
    expect(a3.result?.ok).toBe(true);
    // alice: one in flight again, so one more may queue, a second may not.
    expect(bh.acquire("alice")).toBeInstanceOf(Promise);
    expect(bh.acquire("alice")).toEqual({ ok: false, reason: "consumer_limit" });
  });

  it("frees the consumer's share when its queued call times out", async () => {
    const { bh, clock } = setup({ maxConcurrent: 1, maxQueue: 5, perConsumerMaxConcurrent: 2 });
    permit(bh.acquire("alice"));
    track(bh.acquire("alice"));
    expect(bh.acquire("alice")).toEqual({ ok: false, reason: "consumer_limit" });
    await clock.advanceAsync(100);
    expect(bh.acquire("alice")).toBeInstanceOf(Promise);
  });

  it("release is idempotent", () => {
    const { bh } = setup({ maxConcurrent: 1, maxQueue: 0 });
    const p = permit(bh.acquire("c"));
    p.release();
    p.release();
    expect(bh.snapshot().inFlight).toBe(0);
    const q = permit(bh.acquire("c"));
    expect(bh.acquire("c")).toEqual({ ok: false, reason: "queue_full" });
    p.release(); // a stale permit must not free q's slot
    expect(bh.snapshot().inFlight).toBe(1);
    q.release();
    expect(bh.snapshot().inFlight).toBe(0);
  });

  it("raising maxConcurrent admits waiters at once", async () => {
    const { bh } = setup({ maxConcurrent: 1, maxQueue: 3 });
    permit(bh.acquire("c"));
    const w1 = track(bh.acquire("c"));
    const w2 = track(bh.acquire("c"));
    const w3 = track(bh.acquire("c"));
    bh.updateConfig(bulkheadSchema.parse({ maxConcurrent: 3, maxQueue: 3, queueTimeoutMs: 100 }));
    await flushMicrotasks();
    expect([w1.result?.ok, w2.result?.ok, w3.result]).toEqual([true, true, undefined]);
    expect(bh.snapshot()).toMatchObject({ inFlight: 3, queued: 1, maxConcurrent: 3 });
  });

  it("lowering limits keeps in-flight calls and trims the newest waiters", async () => {
    const { bh } = setup({ maxConcurrent: 3, maxQueue: 3 });
    const held = [0, 1, 2].map(() => permit(bh.acquire("c")));
    const w1 = track(bh.acquire("c"));
    const w2 = track(bh.acquire("c"));
    const w3 = track(bh.acquire("c"));
    bh.updateConfig(bulkheadSchema.parse({ maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 100 }));
    await flushMicrotasks();
    expect(w2.result).toEqual({ ok: false, reason: "queue_full" });
    expect(w3.result).toEqual({ ok: false, reason: "queue_full" });
    expect(bh.snapshot()).toMatchObject({ inFlight: 3, queued: 1 });
    held[0]!.release();
    held[1]!.release();
    await flushMicrotasks();
    expect(w1.result).toBeUndefined(); // still 1 in flight = the new maximum
    held[2]!.release();
    await flushMicrotasks();
    expect(w1.result?.ok).toBe(true);
    expect(bh.snapshot()).toMatchObject({ inFlight: 1, queued: 0 });
  });
});
