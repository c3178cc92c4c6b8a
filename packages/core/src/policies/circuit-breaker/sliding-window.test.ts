import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CountWindow, TimeWindow, windowLabel } from "./sliding-window";

describe("CountWindow", () => {
  it("keeps running totals of the last `size` calls", () => {
    const w = new CountWindow({ type: "count", size: 3 });
    w.record(true, true);
    w.record(true, false);
    expect(w.totals()).toEqual({ calls: 2, failures: 2, slowCalls: 1 });
    w.record(false, false);
    w.record(false, false); // pushes out the first (failed, slow) call
    expect(w.totals()).toEqual({ calls: 3, failures: 1, slowCalls: 0 });
    w.reset();
    expect(w.totals()).toEqual({ calls: 0, failures: 0, slowCalls: 0 });
  });

  it("matches a naive recount of the last `size` calls", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.boolean(), fc.boolean()), { maxLength: 100 }),
        (size, calls) => {
          const w = new CountWindow({ type: "count", size });
          for (const [f, s] of calls) w.record(f, s);
          const last = calls.slice(-size);
          expect(w.totals()).toEqual({
            calls: last.length,
            failures: last.filter(([f]) => f).length,
            slowCalls: last.filter(([, s]) => s).length,
          });
        },
      ),
    );
  });
});

describe("TimeWindow", () => {
  it("matches a naive recount of the calls in the last sizeMs, by whole seconds", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }).map((s) => s * 1000),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4000 }), fc.boolean(), fc.boolean()), {
          maxLength: 60,
        }),
        (sizeMs, steps) => {
          const w = new TimeWindow({ type: "time", sizeMs });
          const seen: [number, boolean, boolean][] = [];
          let now = 0;
          for (const [dt, f, s] of steps) {
            now += dt;
            w.record(f, s, now);
            seen.push([now, f, s]);
            const second = Math.floor(now / 1000);
            const live = seen.filter(([at]) => Math.floor(at / 1000) > second - sizeMs / 1000);
            expect(w.totals(now)).toEqual({
              calls: live.length,
              failures: live.filter(([, f2]) => f2).length,
              slowCalls: live.filter(([, , s2]) => s2).length,
            });
          }
        },
      ),
    );
  });

  it("empties after a gap longer than the window", () => {
    const w = new TimeWindow({ type: "time", sizeMs: 5000 });
    w.record(true, false, 100);
    w.record(true, true, 4100);
    expect(w.totals(4999).calls).toBe(2);
    expect(w.totals(5000).calls).toBe(1);
    expect(w.totals(1_000_000)).toEqual({ calls: 0, failures: 0, slowCalls: 0 });
  });
});

it("labels windows as shown in breaker reasons", () => {
  expect(windowLabel({ type: "count", size: 100 })).toBe("count:100");
  expect(windowLabel({ type: "time", sizeMs: 60_000 })).toBe("time:60000ms");
});
