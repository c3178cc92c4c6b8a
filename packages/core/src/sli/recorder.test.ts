import { describe, expect, it } from "vitest";
import { FakeClock } from "../testing";
import { LATENCY_CELLS, latencyCell } from "./buckets";
import { SliRecorder, badRequests, seriesKey } from "./recorder";

const T0 = Date.UTC(2026, 0, 1); // FakeClock's default wall start, aligned to a second

function setup() {
  const clock = new FakeClock();
  const sli = new SliRecorder(clock);
  return { clock, sli };
}

describe("SliRecorder buckets and drain", () => {
  it("puts requests into wall-clock seconds and drains each completed second once", () => {
    const { clock, sli } = setup();
    const s = sli.series("pay", "up", 100);
    clock.advance(200);
    s.record("success", 12);
    s.record("http_5xx", 250, true);
    clock.advance(900); // 1.1 s
    s.record("success", 3);
    s.record(undefined, 0.5, false, true);

    // The second [T0+1000, T0+2000) is still running: only the first is complete.
    const first = sli.drain(clock.wallNow());
    expect(first).toHaveLength(1);
    const b = first[0]!;
    expect(b.start).toBe(T0);
    expect(b.route).toBe("pay");
    expect(b.upstream).toBe("up");
    expect(b.counts).toEqual({
      success: 1,
      http_5xx: 1,
      connect_error: 0,
      timeout: 0,
      rate_limited: 0,
      client_error: 0,
    });
    expect(b.retries).toBe(1);
    expect(b.slow).toBe(1); // 250 ms > 100 ms threshold
    expect(b.rejected).toBe(0);
    expect(b.latency).toHaveLength(LATENCY_CELLS);
    expect(b.latency[latencyCell(12)]).toBe(1);
    expect(b.latency[latencyCell(250)]).toBe(1);

    expect(sli.drain(clock.wallNow())).toEqual([]); // nothing new completed

    clock.advance(1000);
    const second = sli.drain(clock.wallNow());
    expect(second).toHaveLength(1);
    expect(second[0]!.start).toBe(T0 + 1000);
    expect(second[0]!.counts.success).toBe(1);
    expect(second[0]!.rejected).toBe(1);
    expect(second[0]!.fallbacks).toBe(1);
  });

  it("drains several series sorted by start and skips empty seconds", () => {
    const { clock, sli } = setup();
    sli.series("a", "x").record("success", 1);
    clock.advance(3000);
    sli.series("b", "y").record("timeout", 5000);
    sli.series("a", "x").record("success", 1);
    clock.advance(1000);
    const out = sli.drain(clock.wallNow());
    expect(out.map((b) => [b.route, b.start - T0])).toEqual([
      ["a", 0],
      ["a", 3000],
      ["b", 3000],
    ]);
  });

  it("drops a retired series after its last drain", () => {
    const { clock, sli } = setup();
    sli.series("a", "x").record("success", 1);
    sli.series("b", "x").record("success", 1);
    sli.retainOnly(new Set([seriesKey("b", "x")]));
    clock.advance(1000);
    expect(sli.drain(clock.wallNow())).toHaveLength(2);
    expect(sli.keys()).toEqual([{ route: "b", upstream: "x" }]);
  });

  it("counts a late request in a retired series without keeping the series", () => {
    const { clock, sli } = setup();
    sli.series("a", "x").record("success", 1);
    sli.retainOnly(new Set());
    // An answer still streaming when its route went away ends now.
    sli.record("a", "x", { outcome: "connect_error", latencyMs: 2 });
    clock.advance(1000);
    const out = sli.drain(clock.wallNow());
    expect(out).toHaveLength(1);
    expect(out[0]!.counts).toMatchObject({ success: 1, connect_error: 1 });
    expect(sli.keys()).toEqual([]);
  });
});

describe("SliRecorder windows", () => {
  it("sums the last minute and the last five minutes", () => {
    const { clock, sli } = setup();
    const s = sli.series("r", "u", 500);
    for (let i = 0; i < 10; i++) s.record("success", 10);
    clock.advance(120_000);
    for (let i = 0; i < 5; i++) s.record("http_5xx", 10);

    const m1 = sli.window("r", "u", "1m");
    expect(m1.total).toBe(5);
    expect(m1.byOutcome.http_5xx).toBe(5);
    expect(m1.errorRate).toBe(1);
    // The series exists since 121 seconds; the 1-minute window is full: 5 / 60.
    expect(m1.rps).toBeCloseTo(5 / 60, 9);

    const m5 = sli.window("r", "u", "5m");
    expect(m5.total).toBe(15);
    expect(m5.errorRate).toBeCloseTo(5 / 15, 9);
    // Only 121 of the 300 seconds have passed since the first request: 15 / 121.
    expect(m5.rps).toBeCloseTo(15 / 121, 9);

    // 181 s later the first 10 fall out of the five-minute window (301 s old).
    clock.advance(181_000);
    expect(sli.window("r", "u", "5m").total).toBe(5);
    expect(sli.window("r", "u", "1m").total).toBe(0);
  });

  it("reads percentiles from the histogram and counts slow requests", () => {
    const { sli } = setup();
    const s = sli.series("r", "u", 100);
    for (let i = 0; i < 99; i++) s.record("success", 10);
    s.record("success", 1000);
    const w = sli.window("r", "u", "1m");
    // 99 of 100 in the (7, 10] cell: rank 99 reaches the cell's top, 10 ms.
    expect(w.p99).toBe(10);
    // rank 50 of the 99 in (7, 10]: 7 + 3 · 50/99.
    expect(w.p50).toBeCloseTo(7 + (3 * 50) / 99, 9);
    expect(w.slow).toBe(1);
    expect(w.slowRate).toBeCloseTo(0.01, 9);
  });

  it("reuses the ring after five minutes without mixing seconds", () => {
    const { clock, sli } = setup();
    const s = sli.series("r", "u");
    s.record("success", 1);
    clock.advance(300_000); // same ring slot, a new second
    s.record("timeout", 1);
    const w = sli.window("r", "u", "5m");
    expect(w.total).toBe(1);
    expect(w.byOutcome.timeout).toBe(1);
    expect(w.byOutcome.success).toBe(0);
  });

  it("leaves the rate limiter's own refusals out of the health signal, not out of the window", () => {
    const { sli } = setup();
    const s = sli.series("r", "u", 500);
    for (let i = 0; i < 4; i++) s.record("http_5xx", 800);
    s.record("success", 800);
    s.record("rate_limited", 20); // an upstream 429 reached the upstream
    for (let i = 0; i < 594; i++) s.recordLimited();

    const w = sli.window("r", "u", "10s");
    expect(w.total).toBe(600);
    expect(w.byOutcome.rate_limited).toBe(595);
    expect(w.bad).toBe(4);
    expect(w.errorRate).toBeCloseTo(4 / 600, 9);
    expect(w.p99).toBeLessThan(750);

    const h = sli.health("r", "u", "10s");
    expect(h.requests).toBe(6);
    expect(h.errorRate).toBeCloseTo(4 / 6, 9);
    expect(h.p99).toBeGreaterThan(750); // five of the six took 800 ms
    expect(sli.health("nope", "u", "10s")).toEqual({ requests: 0, errorRate: 0, p99: 0 });
  });

  it("gives an empty window for an unknown series", () => {
    const { sli } = setup();
    const w = sli.window("nope", "u", "1m");
    expect(w.total).toBe(0);
    expect(w.errorRate).toBe(0);
  });
});

describe("badRequests", () => {
  it("counts upstream failures and refusals, minus requests a fallback answered", () => {
    const counts = {
      success: 50,
      http_5xx: 4,
      connect_error: 2,
      timeout: 1,
      rate_limited: 9,
      client_error: 7,
    };
    // 4 + 2 + 1 + 3 rejected − 5 answered by a fallback = 5; 429s and 4xx do not count.
    expect(badRequests({ counts, rejected: 3, fallbacks: 5 })).toBe(5);
  });
});
