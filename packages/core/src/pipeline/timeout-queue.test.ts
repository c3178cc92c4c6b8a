import { describe, expect, it } from "vitest";
import { FakeClock } from "../testing";
import { LiteAbortSignal } from "./abort";
import { TimeoutQueue } from "./timeout-queue";

const REASON = new Error("per-try");

describe("TimeoutQueue", () => {
  it("aborts each signal at its own time with one clock timer for the queue", () => {
    const clock = new FakeClock();
    const q = new TimeoutQueue(clock, REASON);
    const a = new LiteAbortSignal();
    const b = new LiteAbortSignal();
    q.add(100, a);
    clock.advance(30);
    q.add(100, b); // due at 130
    expect(clock.pendingTimers).toBe(1);
    clock.advance(69);
    expect(a.aborted).toBe(false);
    clock.advance(1); // 100
    expect(a.aborted).toBe(true);
    expect(a.reason).toBe(REASON);
    expect(b.aborted).toBe(false);
    clock.advance(29);
    expect(b.aborted).toBe(false);
    clock.advance(1); // 130
    expect(b.aborted).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it("never aborts a cancelled entry and drops dead entries from the head", () => {
    const clock = new FakeClock();
    const q = new TimeoutQueue(clock, REASON);
    const signals = Array.from({ length: 5 }, () => new LiteAbortSignal());
    const entries = signals.map((s) => q.add(50, s));
    for (const e of entries.slice(0, 4)) q.cancel(e);
    const late = new LiteAbortSignal();
    q.add(50, late); // trims the four dead entries first
    expect(q.size).toBe(2);
    clock.advance(50);
    expect(signals.map((s) => s.aborted)).toEqual([false, false, false, false, true]);
    expect(late.aborted).toBe(true);
  });

  it("gives a shorter timeout than the queue's tail a timer of its own", () => {
    const clock = new FakeClock();
    const q = new TimeoutQueue(clock, REASON);
    const long = new LiteAbortSignal();
    const short = new LiteAbortSignal();
    q.add(1000, long);
    const e = q.add(200, short);
    expect(clock.pendingTimers).toBe(2);
    clock.advance(200);
    expect(short.aborted).toBe(true);
    expect(long.aborted).toBe(false);
    const short2 = new LiteAbortSignal();
    q.cancel(q.add(100, short2));
    q.cancel(e); // cancelling a fired entry is harmless
    clock.advance(800);
    expect(short2.aborted).toBe(false);
    expect(long.aborted).toBe(true);
  });
});
