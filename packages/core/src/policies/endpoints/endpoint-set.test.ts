import { describe, expect, it } from "vitest";
import { upstreamSchema } from "../../config/schema";
import type { UpstreamConfig } from "../../config/schema";
import { EventBus } from "../../events";
import type { ResilienceEvent } from "../../events";
import { classify } from "../../outcome";
import { FakeClock, SeededRandom, SequenceRandom } from "../../testing";
import type { Random } from "../../ports";
import { EndpointSet } from "./endpoint-set";

const ok = classify({ status: 200, durationMs: 5 });
const fail = classify({ status: 502, durationMs: 5 });

type Input = Parameters<typeof upstreamSchema.parse>[0];

function upstream(weights: Record<string, number>, over: Record<string, unknown> = {}) {
  const endpoints = Object.fromEntries(
    Object.entries(weights).map(([id, weight]) => [id, { url: `http://${id}.test:80`, weight }]),
  );
  return upstreamSchema.parse({ endpoints, ...over } as Input);
}

function setup(config: UpstreamConfig, random: Random = new SeededRandom(42)) {
  const clock = new FakeClock();
  const events = new EventBus();
  const seen: ResilienceEvent[] = [];
  events.on((e) => seen.push(e));
  const set = new EndpointSet({ upstream: "api", config, clock, random, events });
  return { clock, seen, set };
}

function distribution(set: EndpointSet, n: number, exclude?: ReadonlySet<string>) {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const c = set.pick(exclude);
    const id = c?.id ?? "none";
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}

const outlier = (o: Record<string, unknown>) => ({
  outlierDetection: { consecutive5xx: 3, baseEjectionMs: 1000, maxEjectionMs: 5000, ...o },
});

describe("EndpointSet: load balancing", () => {
  it("spreads picks in proportion to weights", () => {
    const { set } = setup(upstream({ a: 100, b: 300, c: 600 }));
    const n = 100_000;
    const counts = distribution(set, n);
    expect(counts.a! / n).toBeCloseTo(0.1, 2);
    expect(counts.b! / n).toBeCloseTo(0.3, 2);
    expect(counts.c! / n).toBeCloseTo(0.6, 2);
  });

  it("maps the random draw onto cumulative weights", () => {
    const { set } = setup(upstream({ a: 1, b: 3 }), new SequenceRandom([0, 0.249, 0.25, 0.999]));
    expect([set.pick(), set.pick(), set.pick(), set.pick()].map((c) => c?.id)).toEqual([
      "a",
      "a",
      "b",
      "b",
    ]);
  });

  it("returns the same object for an endpoint on every pick", () => {
    const { set } = setup(upstream({ a: 1 }));
    const first = set.pick();
    expect(first).toEqual({ id: "a", url: "http://a.test:80" });
    expect(set.pick()).toBe(first);
  });

  it("skips excluded and zero-weight endpoints", () => {
    const { set } = setup(upstream({ a: 100, b: 100, c: 0 }));
    expect(distribution(set, 1000, new Set(["a"]))).toEqual({ b: 1000 });
    expect(set.pick(new Set(["a", "b"]))).toBeUndefined();
  });

  it("counts in-flight calls per endpoint", () => {
    const { set } = setup(upstream({ a: 1, b: 1 }));
    set.onStart("a");
    set.onStart("a");
    set.onFinish("a");
    set.onFinish("b"); // never below zero
    expect(set.snapshot().map((s) => [s.id, s.inFlight])).toEqual([
      ["a", 1],
      ["b", 0],
    ]);
  });
});

describe("EndpointSet: outlier ejection", () => {
  it("ejects after consecutive failures and restores when the time is up", () => {
    const { set, clock, seen } = setup(upstream({ a: 1, b: 1 }, outlier({})));
    set.record("a", fail);
    set.record("a", fail);
    set.record("a", ok); // a success resets the streak
    set.record("a", fail);
    set.record("a", fail);
    expect(set.effectiveWeight("a")).toBe(1);
    set.record("a", fail);
    expect(set.effectiveWeight("a")).toBe(0);
    expect(distribution(set, 200)).toEqual({ b: 200 });
    expect(seen).toEqual([
      expect.objectContaining({
        type: "outlier.ejected",
        upstream: "api",
        endpoint: "a",
        reason: "3 consecutive failures",
        ejectionMs: 1000,
      }),
    ]);
    expect(set.snapshot()[0]).toMatchObject({
      ejected: true,
      ejections: 1,
      ejectedUntil: clock.wallNow() + 1000,
    });
    clock.advance(999);
    expect(set.effectiveWeight("a")).toBe(0);
    clock.advance(1);
    expect(set.effectiveWeight("a")).toBe(1);
    expect(seen.at(-1)).toMatchObject({ type: "outlier.restored", endpoint: "a" });
  });

  it("ejects on failure percentage once the interval holds enough requests", () => {
    const cfg = outlier({
      consecutive5xx: 0,
      failurePercent: 50,
      failurePercentMinRequests: 10,
      intervalMs: 1000,
    });
    const { set, clock, seen } = setup(upstream({ a: 1, b: 1 }, cfg));
    for (let i = 0; i < 4; i++) set.record("a", fail);
    for (let i = 0; i < 5; i++) set.record("a", ok);
    expect(set.effectiveWeight("a")).toBe(1); // 9 requests: below the minimum
    clock.advance(1000); // a new interval forgets the first nine
    for (let i = 0; i < 5; i++) set.record("a", ok);
    for (let i = 0; i < 4; i++) set.record("a", fail);
    expect(set.effectiveWeight("a")).toBe(1);
    set.record("a", fail); // 5 of 10 = 50%
    expect(set.effectiveWeight("a")).toBe(0);
    expect(seen[0]).toMatchObject({
      type: "outlier.ejected",
      reason: "failure rate 50% over 10 requests ≥ 50%",
    });
  });

  it("never ejects more than maxEjectionPercent, but always allows the first", () => {
    const { set, seen } = setup(
      upstream({ a: 1, b: 1, c: 1, d: 1 }, outlier({ maxEjectionPercent: 50 })),
    );
    for (const id of ["a", "b", "c"]) for (let i = 0; i < 3; i++) set.record(id, fail);
    expect(
      seen.filter((e) => e.type === "outlier.ejected").map((e) => "endpoint" in e && e.endpoint),
    ).toEqual(["a", "b"]);
    expect(set.effectiveWeight("c")).toBe(1);

    const one = setup(upstream({ a: 1, b: 1, c: 1 }, outlier({ maxEjectionPercent: 10 })));
    for (const id of ["a", "b"]) for (let i = 0; i < 3; i++) one.set.record(id, fail);
    expect(one.set.snapshot().map((s) => s.ejected)).toEqual([true, false, false]);

    const none = setup(upstream({ a: 1, b: 1 }, outlier({ maxEjectionPercent: 0 })));
    for (let i = 0; i < 3; i++) none.set.record("a", fail);
    expect(none.set.effectiveWeight("a")).toBe(1);
  });

  it("ejects for longer each time, up to the cap, and forgives after quiet intervals", () => {
    const { set, clock, seen } = setup(
      upstream(
        { a: 1, b: 1 },
        outlier({ baseEjectionMs: 1000, maxEjectionMs: 2500, intervalMs: 10_000 }),
      ),
    );
    const ejectFor = () => {
      for (let i = 0; i < 3; i++) set.record("a", fail);
      const e = seen.filter((x) => x.type === "outlier.ejected").at(-1);
      return e && "ejectionMs" in e ? e.ejectionMs : undefined;
    };
    expect(ejectFor()).toBe(1000);
    clock.advance(1000);
    expect(ejectFor()).toBe(2000);
    clock.advance(2000);
    expect(ejectFor()).toBe(2500); // 3000 capped
    clock.advance(2500);
    // Two quiet intervals bring the multiplier from 3 down to 1; this ejection makes it 2.
    clock.advance(20_000);
    expect(ejectFor()).toBe(2000);
    expect(set.snapshot()[0]!.ejections).toBe(4);
  });

  it("stops growing the multiplier where the ejection time reaches its cap", () => {
    const { set, clock, seen } = setup(
      upstream(
        { a: 1, b: 1 },
        outlier({ baseEjectionMs: 1000, maxEjectionMs: 3000, intervalMs: 10_000 }),
      ),
    );
    const ejectFor = () => {
      for (let i = 0; i < 3; i++) set.record("a", fail);
      const e = seen.filter((x) => x.type === "outlier.ejected").at(-1);
      return e && "ejectionMs" in e ? e.ejectionMs : undefined;
    };
    // Ten flaps in a row: the multiplier stops at 3000 / 1000 = 3.
    const times: (number | undefined)[] = [];
    for (let i = 0; i < 10; i++) {
      times.push(ejectFor());
      clock.advance(times.at(-1)!);
    }
    expect(times).toEqual([1000, 2000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000]);
    // Two quiet intervals bring it from 3 to 1, as after three ejections; this one makes it 2.
    clock.advance(20_000);
    expect(ejectFor()).toBe(2000);
  });

  it("ignores results that arrive while the endpoint is ejected", () => {
    const { set, clock } = setup(upstream({ a: 1, b: 1 }, outlier({})));
    for (let i = 0; i < 3; i++) set.record("a", fail);
    set.record("a", fail);
    set.record("a", fail);
    clock.advance(1000);
    set.record("a", fail);
    expect(set.effectiveWeight("a")).toBe(1); // streak restarted at restore
  });

  it("never ejects the last endpoint in service, so its failures reach the breaker", () => {
    const { set, seen } = setup(upstream({ only: 1 }, outlier({})));
    for (let i = 0; i < 20; i++) set.record("only", fail);
    expect(set.pick()?.id).toBe("only");
    expect(seen.filter((e) => e.type === "outlier.ejected")).toHaveLength(0);

    const cfg = upstream(
      { a: 1, b: 1 },
      { ...outlier({}), healthCheck: { enabled: true, fall: 1 } },
    );
    const two = setup(cfg);
    two.set.recordHealthCheck("b", false, "connect ECONNREFUSED");
    for (let i = 0; i < 20; i++) two.set.record("a", fail);
    expect(two.set.pick()?.id).toBe("a");
    expect(two.set.snapshot().find((s) => s.id === "a")?.ejected).toBe(false);
  });

  it("offers no endpoint when every one is out (no panic routing)", () => {
    const cfg = upstream(
      { a: 1, b: 1 },
      { ...outlier({}), healthCheck: { enabled: true, fall: 1 } },
    );
    const { set } = setup(cfg);
    for (let i = 0; i < 3; i++) set.record("a", fail);
    set.recordHealthCheck("b", false, "connect ECONNREFUSED");
    expect(set.pick()).toBeUndefined();
    expect(set.snapshot().map((s) => [s.id, s.healthy, s.ejected])).toEqual([
      ["a", true, true],
      ["b", false, false],
    ]);
  });
});

describe("EndpointSet: active health", () => {
  it("flips unhealthy after `fall` failures and healthy after `rise` passes", () => {
    const cfg = upstream({ a: 1, b: 1 }, { healthCheck: { enabled: true, rise: 2, fall: 3 } });
    const { set, seen } = setup(cfg);
    expect(set.healthCheckIntervalMs("a")).toBe(5000);
    set.recordHealthCheck("a", false, "status 500");
    set.recordHealthCheck("a", false, "status 500");
    set.recordHealthCheck("a", true, "status 200"); // breaks the failure streak
    set.recordHealthCheck("a", false, "status 500");
    set.recordHealthCheck("a", false, "status 500");
    expect(set.effectiveWeight("a")).toBe(1);
    set.recordHealthCheck("a", false, "timeout");
    expect(set.effectiveWeight("a")).toBe(0);
    expect(set.healthCheckIntervalMs("a")).toBe(1000);
    expect(distribution(set, 100)).toEqual({ b: 100 });
    set.recordHealthCheck("a", true, "status 200");
    expect(set.effectiveWeight("a")).toBe(0);
    set.recordHealthCheck("a", true, "status 200");
    expect(set.effectiveWeight("a")).toBe(1);
    expect(seen.map((e) => e.type === "health.changed" && [e.healthy, e.reason])).toEqual([
      [false, "timeout"],
      [true, "status 200"],
    ]);
  });

  it("marks everything healthy again when health checks are turned off", () => {
    const cfg = upstream({ a: 1, b: 1 }, { healthCheck: { enabled: true, fall: 1 } });
    const { set } = setup(cfg);
    set.recordHealthCheck("a", false, "status 500");
    expect(set.effectiveWeight("a")).toBe(0);
    set.updateConfig(upstream({ a: 1, b: 1 }));
    expect(set.effectiveWeight("a")).toBe(1);
  });
});

describe("EndpointSet: slow start and weight shift", () => {
  it("ramps a recovered endpoint from 10% to full weight over slowStartMs", () => {
    const cfg = upstream(
      { a: 100, b: 100 },
      { slowStartMs: 1000, healthCheck: { enabled: true, rise: 1, fall: 1 } },
    );
    const { set, clock } = setup(cfg);
    expect(set.effectiveWeight("a")).toBe(100); // no ramp at start
    set.recordHealthCheck("a", false, "down");
    clock.advance(5000);
    set.recordHealthCheck("a", true, "up");
    expect(set.effectiveWeight("a")).toBe(10);
    clock.advance(500);
    expect(set.effectiveWeight("a")).toBeCloseTo(55, 9);
    clock.advance(500);
    expect(set.effectiveWeight("a")).toBe(100);
  });

  it("slow-starts from the moment an ejection ended", () => {
    const { set, clock } = setup(
      upstream({ a: 100, b: 100 }, { slowStartMs: 1000, ...outlier({}) }),
    );
    for (let i = 0; i < 3; i++) set.record("a", fail);
    clock.advance(1500); // ejected for 1000 ms, so 500 ms into the ramp
    expect(set.effectiveWeight("a")).toBeCloseTo(55, 9);
  });

  it("shifts weights linearly over weightShiftMs (exact midpoint)", () => {
    const { set, clock } = setup(upstream({ a: 100, b: 0 }));
    clock.advance(10);
    set.updateConfig(upstream({ a: 0, b: 100, c: 50 }, { weightShiftMs: 1000 }));
    expect([set.effectiveWeight("a"), set.effectiveWeight("b"), set.effectiveWeight("c")]).toEqual([
      100, 0, 0,
    ]);
    clock.advance(500);
    expect([set.effectiveWeight("a"), set.effectiveWeight("b"), set.effectiveWeight("c")]).toEqual([
      50, 50, 25,
    ]);
    clock.advance(500);
    expect([set.effectiveWeight("a"), set.effectiveWeight("b"), set.effectiveWeight("c")]).toEqual([
      0, 100, 50,
    ]);
    expect(distribution(set, 3000).a).toBeUndefined();
  });

  it("starts a new shift from the weights in use mid-shift", () => {
    const { set, clock } = setup(upstream({ a: 100 }));
    set.updateConfig(upstream({ a: 0 }, { weightShiftMs: 1000 }));
    clock.advance(250); // a = 75
    set.updateConfig(upstream({ a: 175 }, { weightShiftMs: 1000 }));
    expect(set.effectiveWeight("a")).toBe(75);
    clock.advance(500);
    expect(set.effectiveWeight("a")).toBe(125);
  });

  it("does not restart a shift under way when an unrelated change arrives", () => {
    const { set, clock } = setup(upstream({ a: 100 }));
    set.updateConfig(upstream({ a: 0 }, { weightShiftMs: 1000 }));
    clock.advance(500);
    set.updateConfig(upstream({ a: 0 }, { weightShiftMs: 1000, maxSockets: 10 }));
    clock.advance(250);
    expect(set.effectiveWeight("a")).toBe(25);
  });

  it("applies new weights at once without weightShiftMs and keeps ejection state", () => {
    const { set } = setup(upstream({ a: 100, b: 100 }, outlier({})));
    for (let i = 0; i < 3; i++) set.record("a", fail);
    set.updateConfig(upstream({ a: 300, b: 100, c: 100 }, outlier({})));
    expect(set.snapshot().map((s) => [s.id, s.ejected, s.weight, s.effectiveWeight])).toEqual([
      ["a", true, 300, 0],
      ["b", false, 100, 100],
      ["c", false, 100, 100],
    ]);
    set.updateConfig(upstream({ b: 100 }, outlier({})));
    expect(set.ids()).toEqual(["b"]);
  });

  it("hands out a new stable choice when an endpoint's url changes", () => {
    const { set } = setup(upstream({ a: 1 }));
    const before = set.pick();
    set.updateConfig(upstreamSchema.parse({ endpoints: { a: { url: "http://moved.test:81" } } }));
    const after = set.pick();
    expect(after).toEqual({ id: "a", url: "http://moved.test:81" });
    expect(after).not.toBe(before);
    expect(set.pick()).toBe(after);
  });

  it("starts an endpoint whose url changed afresh, as an added one: healthy, in service, slow start", () => {
    const at = (urls: Record<string, string>) =>
      upstreamSchema.parse({
        endpoints: Object.fromEntries(
          Object.entries(urls).map(([id, url]) => [id, { url, weight: 100 }]),
        ),
        slowStartMs: 1000,
        healthCheck: { enabled: true, rise: 1, fall: 1 },
        ...outlier({}),
      } as Input);
    const { set, clock, seen } = setup(
      at({ a: "http://a.test:80", b: "http://b.test:80", c: "http://c.test:80" }),
    );
    for (let i = 0; i < 3; i++) set.record("a", fail);
    set.recordHealthCheck("b", false, "connect ECONNREFUSED");
    set.onStart("a"); // a request to the old address, still on its way
    clock.advance(100);
    set.updateConfig(
      at({ a: "http://new-a.test:80", b: "http://new-b.test:80", c: "http://c.test:80" }),
    );
    expect(
      set
        .snapshot()
        .map((s) => [s.id, s.healthy, s.ejected, s.ejections, s.inFlight, s.effectiveWeight]),
    ).toEqual([
      ["a", true, false, 0, 1, 10],
      ["b", true, false, 0, 0, 10],
      ["c", true, false, 0, 0, 100],
    ]);
    clock.advance(500);
    expect(set.effectiveWeight("a")).toBeCloseTo(55, 9);
    // The old address's ejection count does not lengthen the new one's first ejection.
    for (let i = 0; i < 3; i++) set.record("a", fail);
    expect(
      seen
        .filter((e) => e.type === "outlier.ejected")
        .map((e) => "ejectionMs" in e && e.ejectionMs),
    ).toEqual([1000, 1000]);
    set.onFinish("a");
    expect(set.snapshot()[0]!.inFlight).toBe(0);
  });

  it("shifts a moved endpoint's weight up from 0, as an added one's", () => {
    const { set, clock } = setup(upstream({ a: 100, b: 100 }));
    const moved = upstream({ a: 100, b: 100 }, { weightShiftMs: 1000 });
    moved.endpoints.a!.url = "http://moved.test:80";
    set.updateConfig(moved);
    expect([set.effectiveWeight("a"), set.effectiveWeight("b")]).toEqual([0, 100]);
    clock.advance(500);
    expect([set.effectiveWeight("a"), set.effectiveWeight("b")]).toEqual([50, 100]);
  });
});
