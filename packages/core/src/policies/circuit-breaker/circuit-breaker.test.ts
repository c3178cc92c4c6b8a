import { describe, expect, it } from "vitest";
import { circuitBreakerSchema } from "../../config/schema";
import type { CircuitBreakerConfig } from "../../config/schema";
import { EventBus } from "../../events";
import type { EventOf, ResilienceEvent } from "../../events";
import { classify } from "../../outcome";
import type { Outcome } from "../../outcome";
import { FakeClock } from "../../testing";
import { CircuitBreaker } from "./circuit-breaker";
import type { BreakerAdmission, BreakerPermit, BreakerRejection } from "./circuit-breaker.options";

type CbInput = Parameters<typeof circuitBreakerSchema.parse>[0];

const cfg = (over: Partial<CircuitBreakerConfig> = {}): CircuitBreakerConfig =>
  circuitBreakerSchema.parse({
    window: { type: "count", size: 20 },
    minimumCalls: 10,
    failureRateThreshold: 50,
    openDurationMs: 5000,
    ...over,
  } satisfies CbInput);

const ok = (durationMs = 10): Outcome => classify({ status: 200, durationMs });
const fail = (durationMs = 10): Outcome => classify({ status: 502, durationMs });
const unavailable = (retryAfterSeconds: number): Outcome =>
  classify({ status: 503, durationMs: 5, retryAfter: String(retryAfterSeconds) });

function setup(over: Partial<CircuitBreakerConfig> = {}, route?: string) {
  const clock = new FakeClock();
  const events = new EventBus();
  const seen: ResilienceEvent[] = [];
  events.on((e) => seen.push(e));
  const breaker = new CircuitBreaker({
    name: "payments",
    upstream: "payments",
    config: cfg(over),
    clock,
    events,
    ...(route ? { route } : {}),
  });
  const of = <T extends ResilienceEvent["type"]>(type: T) =>
    seen.filter((e): e is EventOf<T> => e.type === type);
  /** Acquire and settle one call; returns false when the breaker rejected it. */
  const call = (outcome: Outcome): boolean => {
    const a = breaker.tryAcquire();
    if (!a.ok) return false;
    a.record(outcome);
    return true;
  };
  return { clock, breaker, seen, of, call };
}

function permit(a: BreakerAdmission): BreakerPermit {
  if (!a.ok) throw new Error(`expected a permit, got a rejection in ${a.state}`);
  return a;
}
function rejection(a: BreakerAdmission): BreakerRejection {
  if (a.ok) throw new Error("expected a rejection");
  return a;
}

/** Trip a fresh breaker with failures (minimumCalls of them). */
function trip(t: ReturnType<typeof setup>, n = 10): void {
  for (let i = 0; i < n; i++) t.call(fail());
  expect(t.breaker.state).toBe("open");
}

describe("CircuitBreaker: closed → open", () => {
  it("opens only once minimumCalls calls are in the window", () => {
    const t = setup();
    for (let i = 0; i < 9; i++) expect(t.call(fail())).toBe(true);
    expect(t.breaker.state).toBe("closed");
    expect(t.breaker.snapshot().window).toMatchObject({
      calls: 9,
      failures: 9,
      failureRate: null,
    });
    t.call(fail());
    expect(t.breaker.state).toBe("open");
    expect(t.breaker.tryAcquire().ok).toBe(false);
  });

  it("carries the observed rate, threshold, calls, window and open time in the reason", () => {
    const t = setup({}, "checkout");
    for (let i = 0; i < 6; i++) t.call(ok());
    for (let i = 0; i < 5; i++) t.call(fail()); // 5/11 = 45.45 %
    expect(t.breaker.state).toBe("closed");
    t.call(fail()); // 6/12 = 50 %
    const [tr] = t.of("breaker.transition");
    expect(tr).toEqual({
      type: "breaker.transition",
      at: t.clock.wallNow(),
      route: "checkout",
      upstream: "payments",
      from: "closed",
      to: "open",
      reason: {
        trigger: "failure_rate",
        observed: 50,
        threshold: 50,
        calls: 12,
        window: "count:20",
        openForMs: 5000,
      },
    });
    const snap = t.breaker.snapshot();
    expect(snap.reason).toEqual(tr!.reason);
    expect(snap.trips).toBe(1);
    expect(snap.route).toBe("checkout");
    expect(snap.openUntil).toBe(t.clock.wallNow() + 5000);
  });

  it("counts only the last `size` calls in a count window", () => {
    const t = setup({ window: { type: "count", size: 10 }, minimumCalls: 10 });
    for (let i = 0; i < 4; i++) t.call(fail());
    for (let i = 0; i < 20; i++) t.call(ok()); // the failures scroll out
    expect(t.breaker.snapshot().window).toMatchObject({ calls: 10, failures: 0, failureRate: 0 });
    for (let i = 0; i < 4; i++) t.call(fail());
    expect(t.breaker.state).toBe("closed"); // 4/10
    t.call(fail());
    expect(t.breaker.state).toBe("open"); // 5/10
  });

  it("caps minimumCalls at the size of a count window smaller than it", () => {
    const t = setup({ window: { type: "count", size: 10 }, minimumCalls: 20 });
    for (let i = 0; i < 9; i++) t.call(fail());
    expect(t.breaker.state).toBe("closed");
    expect(t.breaker.snapshot().window.failureRate).toBeNull();
    t.call(fail()); // the window is full: 10/10
    expect(t.breaker.state).toBe("open");
    expect(t.of("breaker.transition")[0]!.reason).toMatchObject({
      trigger: "failure_rate",
      calls: 10,
    });
    // A time window keeps minimumCalls as configured.
    const timed = setup({ window: { type: "time", sizeMs: 10_000 }, minimumCalls: 20 });
    for (let i = 0; i < 19; i++) timed.call(fail());
    expect(timed.breaker.state).toBe("closed");
    timed.call(fail());
    expect(timed.breaker.state).toBe("open");
  });

  it("ages old calls out of a time window", () => {
    const over = { window: { type: "time", sizeMs: 10_000 }, minimumCalls: 5 } as const;
    const within = setup(over);
    for (let i = 0; i < 4; i++) within.call(fail());
    within.clock.advance(9_999); // still second 9 of a 10 s window starting at 0
    within.call(fail());
    expect(within.breaker.state).toBe("open");
    expect(within.of("breaker.transition")[0]!.reason.window).toBe("time:10000ms");

    const aged = setup(over);
    for (let i = 0; i < 4; i++) aged.call(fail());
    aged.clock.advance(10_000);
    expect(aged.breaker.snapshot().window.calls).toBe(0);
    aged.call(fail());
    expect(aged.breaker.state).toBe("closed");
    expect(aged.breaker.snapshot().window).toMatchObject({ calls: 1, failures: 1 });
  });

  it("trips on the slow-call rate; a call exactly at the limit is not slow", () => {
    const t = setup({
      minimumCalls: 4,
      slowCallDurationMs: 100,
      slowCallRateThreshold: 50,
      failureRateThreshold: 100,
    });
    t.call(ok(100));
    t.call(ok(100));
    t.call(ok(101));
    expect(t.breaker.state).toBe("closed");
    t.call(ok(2000));
    expect(t.breaker.state).toBe("open");
    expect(t.of("breaker.transition")[0]!.reason).toMatchObject({
      trigger: "slow_call_rate",
      observed: 50,
      threshold: 50,
      calls: 4,
    });
  });

  it("counts a slow failure as both slow and failed", () => {
    const t = setup({ minimumCalls: 100, slowCallDurationMs: 100 });
    t.call(fail(500));
    expect(t.breaker.snapshot().window).toMatchObject({ calls: 1, failures: 1, slowCalls: 1 });
  });

  it("trips on consecutive failures, and a success resets the streak", () => {
    const t = setup({
      consecutiveFailures: 3,
      minimumCalls: 1000,
      window: { type: "count", size: 1000 },
    });
    t.call(fail());
    t.call(fail());
    t.call(ok());
    t.call(fail());
    t.call(fail());
    expect(t.breaker.state).toBe("closed");
    expect(t.breaker.snapshot().window.consecutiveFailures).toBe(2);
    t.call(fail());
    expect(t.breaker.state).toBe("open");
    expect(t.of("breaker.transition")[0]!.reason).toMatchObject({
      trigger: "consecutive_failures",
      observed: 3,
      threshold: 3,
    });
  });

  it("never trips on client errors or 429s (failure: false)", () => {
    const t = setup({ minimumCalls: 5, consecutiveFailures: 2 });
    for (let i = 0; i < 100; i++) {
      expect(t.call(classify({ status: i % 2 ? 404 : 429, durationMs: 3 }))).toBe(true);
    }
    expect(t.breaker.state).toBe("closed");
    expect(t.breaker.snapshot().window).toMatchObject({ calls: 20, failures: 0, failureRate: 0 });
  });

  it("never trips on a 0 % failure rate, even with a 0 % threshold", () => {
    const t = setup({ minimumCalls: 2, failureRateThreshold: 0 });
    for (let i = 0; i < 5; i++) t.call(ok());
    expect(t.breaker.state).toBe("closed");
    t.call(fail());
    expect(t.breaker.state).toBe("open");
  });
});

describe("CircuitBreaker: open → half_open → closed", () => {
  it("rejects with the remaining open time and admits probes at the open time, not 1 ms before", () => {
    const t = setup();
    trip(t);
    t.clock.advance(1000);
    expect(rejection(t.breaker.tryAcquire())).toEqual({
      ok: false,
      state: "open",
      retryAfterMs: 4000,
    });
    t.clock.advance(3999);
    expect(rejection(t.breaker.tryAcquire()).retryAfterMs).toBe(1);
    expect(t.breaker.state).toBe("open");
    t.clock.advance(1);
    expect(t.breaker.tryAcquire().ok).toBe(true);
    expect(t.breaker.state).toBe("half_open");
    const trs = t.of("breaker.transition");
    expect(trs.map((e) => [e.from, e.to, e.reason.trigger])).toEqual([
      ["closed", "open", "failure_rate"],
      ["open", "half_open", "open_elapsed"],
    ]);
    const rejected = t.of("breaker.rejected");
    expect(rejected).toHaveLength(2);
    expect(rejected[0]).toMatchObject({ state: "open", retryAfterMs: 4000, upstream: "payments" });
  });

  it("isRefusing reads the open time without moving the breaker", () => {
    const t = setup();
    expect(t.breaker.isRefusing()).toBe(false);
    trip(t);
    expect(t.breaker.isRefusing()).toBe(true);
    t.clock.advance(4999);
    expect(t.breaker.isRefusing()).toBe(true);
    t.clock.advance(1);
    // Elapsed: not refusing, though still open until a call arrives.
    expect(t.breaker.isRefusing()).toBe(false);
    expect(t.breaker.state).toBe("open");
    expect(t.breaker.tryAcquire().ok).toBe(true);
    expect(t.breaker.state).toBe("half_open");
    expect(t.breaker.isRefusing()).toBe(false);
    t.breaker.updateConfig(cfg({ forcedState: "forced_open" }));
    t.clock.advance(60_000);
    expect(t.breaker.isRefusing()).toBe(true);
  });

  it("lets exactly halfOpenMaxProbes of 100 concurrent callers through", () => {
    const t = setup({ halfOpenMaxProbes: 3 });
    trip(t);
    t.clock.advance(5000);
    const admissions = Array.from({ length: 100 }, () => t.breaker.tryAcquire());
    const permits = admissions.filter((a): a is BreakerPermit => a.ok);
    expect(permits).toHaveLength(3);
    const rejections = admissions.filter((a): a is BreakerRejection => !a.ok);
    expect(rejections).toHaveLength(97);
    expect(rejections.every((r) => r.state === "half_open" && r.retryAfterMs === 0)).toBe(true);
    expect(t.breaker.snapshot().halfOpen).toEqual({ inFlight: 3, successes: 0 });

    // A released permit (the call never happened) frees its probe slot; a second release is a no-op.
    permits[0]!.release();
    permits[0]!.release();
    expect(t.breaker.snapshot().halfOpen).toEqual({ inFlight: 2, successes: 0 });
    expect(t.breaker.tryAcquire().ok).toBe(true);
    expect(t.breaker.tryAcquire().ok).toBe(false);
  });

  it("closes after halfOpenSuccessesToClose successful probes and starts a fresh window", () => {
    const t = setup({ halfOpenMaxProbes: 2, halfOpenSuccessesToClose: 3 });
    trip(t);
    t.clock.advance(5000);
    const a = permit(t.breaker.tryAcquire());
    const b = permit(t.breaker.tryAcquire());
    a.record(ok());
    b.record(ok());
    expect(t.breaker.state).toBe("half_open");
    expect(t.breaker.snapshot().halfOpen).toEqual({ inFlight: 0, successes: 2 });
    const c = permit(t.breaker.tryAcquire());
    c.record(ok());
    c.record(fail()); // settling twice is ignored
    expect(t.breaker.state).toBe("closed");
    const last = t.of("breaker.transition").at(-1)!;
    expect(last).toMatchObject({
      from: "half_open",
      to: "closed",
      reason: { trigger: "probes_succeeded", observed: 3, threshold: 3 },
    });
    const snap = t.breaker.snapshot();
    expect(snap.trips).toBe(0);
    expect(snap.window).toMatchObject({ calls: 0, failures: 0, consecutiveFailures: 0 });
    // A fresh window: it takes minimumCalls new failures to trip again.
    for (let i = 0; i < 9; i++) t.call(fail());
    expect(t.breaker.state).toBe("closed");
    t.call(fail());
    expect(t.breaker.state).toBe("open");
    expect(t.of("breaker.transition").at(-1)!.reason.openForMs).toBe(5000);
  });

  it("reopens on a failed probe with a growing, then capped, open time", () => {
    const t = setup({ openDurationMs: 1000, openBackoffMultiplier: 2, maxOpenDurationMs: 5000 });
    trip(t);
    const openTimes = [rejection(t.breaker.tryAcquire()).retryAfterMs];
    for (let i = 0; i < 4; i++) {
      t.clock.advance(openTimes.at(-1)!);
      const probe = permit(t.breaker.tryAcquire());
      probe.record(fail());
      expect(t.breaker.state).toBe("open");
      openTimes.push(rejection(t.breaker.tryAcquire()).retryAfterMs);
    }
    expect(openTimes).toEqual([1000, 2000, 4000, 5000, 5000]);
    const reopen = t.of("breaker.transition").filter((e) => e.reason.trigger === "probe_failed");
    expect(reopen.map((e) => [e.from, e.to, e.reason.openForMs])).toEqual([
      ["half_open", "open", 2000],
      ["half_open", "open", 4000],
      ["half_open", "open", 5000],
      ["half_open", "open", 5000],
    ]);
    expect(t.breaker.snapshot().trips).toBe(5);
  });

  it("a failed probe reopens at once, even with other probes in flight; their late results are ignored", () => {
    const t = setup({ halfOpenMaxProbes: 3, halfOpenSuccessesToClose: 1 });
    trip(t);
    t.clock.advance(5000);
    const a = permit(t.breaker.tryAcquire());
    const b = permit(t.breaker.tryAcquire());
    a.record(fail());
    expect(t.breaker.state).toBe("open");
    b.record(ok()); // issued in the half-open that has ended
    expect(t.breaker.state).toBe("open");
  });

  it("ignores a call admitted while closed that finishes after the trip", () => {
    const t = setup({ halfOpenSuccessesToClose: 1 });
    const slow = permit(t.breaker.tryAcquire());
    trip(t);
    t.clock.advance(5000);
    const probe = permit(t.breaker.tryAcquire());
    slow.record(ok()); // must not count as the probe's success
    expect(t.breaker.state).toBe("half_open");
    probe.record(ok());
    expect(t.breaker.state).toBe("closed");
  });

  it("stays open for the upstream's Retry-After when it is longer, within maxOpenDurationMs", () => {
    const t = setup({ minimumCalls: 1, openDurationMs: 5000, maxOpenDurationMs: 60_000 });
    t.call(unavailable(30));
    expect(rejection(t.breaker.tryAcquire()).retryAfterMs).toBe(30_000);
    expect(t.of("breaker.transition")[0]!.reason).toMatchObject({
      openForMs: 30_000,
      retryAfterMs: 30_000,
    });

    const capped = setup({ minimumCalls: 1, maxOpenDurationMs: 60_000 });
    capped.call(unavailable(3600));
    expect(rejection(capped.breaker.tryAcquire()).retryAfterMs).toBe(60_000);

    const shorter = setup({ minimumCalls: 1, openDurationMs: 5000 });
    shorter.call(unavailable(2));
    expect(rejection(shorter.breaker.tryAcquire()).retryAfterMs).toBe(5000);
    expect(shorter.of("breaker.transition")[0]!.reason.retryAfterMs).toBeUndefined();

    const ignored = setup({ minimumCalls: 1, honorRetryAfter: false });
    ignored.call(unavailable(30));
    expect(rejection(ignored.breaker.tryAcquire()).retryAfterMs).toBe(5000);
  });

  it("lengthens the reopen time with a failed probe's Retry-After", () => {
    const t = setup({ openDurationMs: 1000 });
    trip(t);
    t.clock.advance(1000);
    permit(t.breaker.tryAcquire()).record(unavailable(20));
    expect(rejection(t.breaker.tryAcquire()).retryAfterMs).toBe(20_000);
  });
});

describe("CircuitBreaker: operator states", () => {
  it("shadow evaluates like auto, emits would-have-opened, and never rejects", () => {
    const t = setup({ forcedState: "shadow", halfOpenMaxProbes: 1, openDurationMs: 1000 });
    for (let i = 0; i < 10; i++) expect(t.call(fail())).toBe(true);
    expect(t.breaker.state).toBe("shadow");
    const trips = t.of("breaker.shadow_trip");
    expect(trips).toHaveLength(1);
    expect(trips[0]!.reason).toMatchObject({
      trigger: "failure_rate",
      observed: 100,
      threshold: 50,
      calls: 10,
      openForMs: 1000,
    });
    // While it would be open, calls pass and are not counted (auto mode would not see them).
    for (let i = 0; i < 50; i++) expect(t.call(fail())).toBe(true);
    expect(t.of("breaker.shadow_trip")).toHaveLength(1);
    // After the open time a probe is evaluated; its failure would reopen for longer.
    t.clock.advance(1000);
    const probe = permit(t.breaker.tryAcquire());
    expect(t.breaker.tryAcquire().ok).toBe(true); // beyond the probe limit, still admitted
    probe.record(fail());
    expect(t.of("breaker.shadow_trip").map((e) => [e.reason.trigger, e.reason.openForMs])).toEqual([
      ["failure_rate", 1000],
      ["probe_failed", 2000],
    ]);
    expect(t.of("breaker.transition")).toHaveLength(0);
    expect(t.of("breaker.rejected")).toHaveLength(0);
    expect(t.breaker.snapshot().state).toBe("shadow");
  });

  it("forced_open rejects everything with openDurationMs; release returns to closed", () => {
    const t = setup({ openDurationMs: 7000 });
    t.breaker.updateConfig(cfg({ openDurationMs: 7000, forcedState: "forced_open" }));
    expect(t.breaker.state).toBe("forced_open");
    for (let i = 0; i < 3; i++) {
      t.clock.advance(60_000);
      expect(t.breaker.tryAcquire()).toEqual({
        ok: false,
        state: "forced_open",
        retryAfterMs: 7000,
      });
    }
    t.breaker.updateConfig(cfg({ openDurationMs: 7000 }));
    expect(t.breaker.state).toBe("closed");
    expect(t.call(ok())).toBe(true);
    expect(t.of("breaker.transition").map((e) => [e.from, e.to, e.reason.trigger])).toEqual([
      ["closed", "forced_open", "forced"],
      ["forced_open", "closed", "released"],
    ]);
  });

  it("forced_closed admits and records every call without tripping; release returns to closed", () => {
    const t = setup();
    trip(t);
    t.breaker.updateConfig(cfg({ forcedState: "forced_closed" }));
    expect(t.breaker.state).toBe("forced_closed");
    for (let i = 0; i < 30; i++) expect(t.call(fail())).toBe(true);
    expect(t.breaker.state).toBe("forced_closed");
    expect(t.breaker.snapshot().window).toMatchObject({ calls: 20, failures: 20 });
    t.breaker.updateConfig(cfg());
    expect(t.breaker.state).toBe("closed");
    expect(t.of("breaker.transition").map((e) => [e.from, e.to, e.reason.trigger])).toEqual([
      ["closed", "open", "failure_rate"],
      ["open", "forced_closed", "forced"],
      ["forced_closed", "closed", "released"],
    ]);
    // What forced_closed recorded was real traffic: the next failure trips at once.
    t.call(fail());
    expect(t.breaker.state).toBe("open");
    expect(t.breaker.snapshot().trips).toBe(1);
  });

  it("enabled: false admits everything and counts nothing", () => {
    const t = setup({ enabled: false });
    for (let i = 0; i < 50; i++) expect(t.call(fail())).toBe(true);
    expect(t.breaker.state).toBe("closed");
    expect(t.breaker.snapshot().window.calls).toBe(0);
    expect(t.seen).toHaveLength(0);
  });
});

describe("CircuitBreaker: updateConfig", () => {
  it("keeps the window when its shape is unchanged and applies new thresholds at once", () => {
    const t = setup({ minimumCalls: 10, failureRateThreshold: 90 });
    for (let i = 0; i < 5; i++) t.call(ok());
    for (let i = 0; i < 5; i++) t.call(fail());
    expect(t.breaker.state).toBe("closed"); // 50 % < 90 %
    t.breaker.updateConfig(cfg({ minimumCalls: 10, failureRateThreshold: 55 }));
    expect(t.breaker.snapshot().window).toMatchObject({ calls: 10, failures: 5 });
    expect(t.breaker.snapshot().thresholds.failureRateThreshold).toBe(55);
    t.call(fail()); // 6/11 = 54.5 %
    expect(t.breaker.state).toBe("closed");
    t.call(fail()); // 7/12 = 58.3 %
    expect(t.breaker.state).toBe("open");
  });

  it("keeps an open breaker open for its original time", () => {
    const t = setup({ openDurationMs: 5000 });
    trip(t);
    t.clock.advance(1000);
    t.breaker.updateConfig(cfg({ openDurationMs: 1000, failureRateThreshold: 80 }));
    expect(t.breaker.state).toBe("open");
    expect(rejection(t.breaker.tryAcquire()).retryAfterMs).toBe(4000);
    expect(t.of("breaker.transition")).toHaveLength(1);
  });

  it("starts a fresh window when the window changes shape", () => {
    const t = setup();
    for (let i = 0; i < 9; i++) t.call(fail());
    t.breaker.updateConfig(cfg({ window: { type: "time", sizeMs: 30_000 } }));
    expect(t.breaker.snapshot().window.calls).toBe(0);
    t.call(fail());
    expect(t.breaker.state).toBe("closed");
    expect(t.breaker.snapshot().thresholds.window).toEqual({ type: "time", sizeMs: 30_000 });
  });
});

describe("CircuitBreaker: without an event bus", () => {
  it("runs the whole cycle with no events option", () => {
    const clock = new FakeClock();
    const breaker = new CircuitBreaker({
      name: "x",
      upstream: "x",
      config: cfg({ minimumCalls: 1, halfOpenSuccessesToClose: 1 }),
      clock,
    });
    permit(breaker.tryAcquire()).record(fail());
    expect(breaker.state).toBe("open");
    expect(breaker.tryAcquire().ok).toBe(false);
    clock.advance(5000);
    permit(breaker.tryAcquire()).record(ok());
    expect(breaker.state).toBe("closed");
    expect(breaker.snapshot().reason?.trigger).toBe("probes_succeeded");
  });
});
