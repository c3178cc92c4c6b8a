import fc from "fast-check";
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

  it("re-arms earlier when the entry the timer was armed for is gone", () => {
    const clock = new FakeClock();
    const q = new TimeoutQueue(clock, REASON);
    q.cancel(q.add(1000, new LiteAbortSignal()));
    clock.advance(10);
    const s = new LiteAbortSignal();
    q.add(200, s); // due at 210, before the armed 1000
    clock.advance(200);
    expect(s.aborted).toBe(true);
    clock.advance(1000);
    expect(clock.pendingTimers).toBe(0);
  });

  it("aborts every live signal exactly at its time, whatever the order of operations", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), ms: fc.integer({ min: 1, max: 300 }) }),
      fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 120 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const clock = new FakeClock();
        const q = new TimeoutQueue(clock, REASON);
        const live: {
          at: number;
          signal: LiteAbortSignal;
          cancelled: boolean;
          entry: ReturnType<TimeoutQueue["add"]>;
        }[] = [];
        const check = () => {
          for (const l of live) {
            const due = !l.cancelled && clock.now() >= l.at;
            if (l.signal.aborted !== due) return false;
          }
          return true;
        };
        for (const o of ops) {
          if (o.kind === "add") {
            const signal = new LiteAbortSignal();
            live.push({
              at: clock.now() + o.ms,
              signal,
              cancelled: false,
              entry: q.add(o.ms, signal),
            });
          } else if (o.kind === "cancel" && live.length > 0) {
            const l = live[o.pick % live.length]!;
            if (!l.signal.aborted) {
              l.cancelled = true;
              q.cancel(l.entry);
            }
          } else if (o.kind === "advance") {
            // Step through every millisecond so a late abort is caught.
            for (let i = 0; i < o.ms; i++) {
              clock.advance(1);
              if (!check()) return false;
            }
          }
          if (!check()) return false;
        }
        clock.advance(1000);
        return check();
      }),
      { numRuns: 300 },
    );
  });
});
