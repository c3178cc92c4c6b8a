import { describe, expect, it } from "vitest";
import {
  breakerMeta,
  fillUnknown,
  describeReason,
  layoutStrip,
  modeMeta,
  spansFromTransitions,
  worstState,
} from "./breaker";

describe("state metadata", () => {
  it("gives every state a distinct label and icon", () => {
    const states = ["closed", "half_open", "open", "forced_open", "forced_closed", "shadow"];
    const metas = states.map(breakerMeta);
    expect(new Set(metas.map((m) => m.label)).size).toBe(states.length);
    expect(new Set(metas.map((m) => m.icon)).size).toBe(states.length);
    expect(breakerMeta("open").tone).toBe("bad");
    expect(breakerMeta(undefined).label).toBe("No data");
    expect(modeMeta("read_only").label).toBe("Read-only");
  });

  it("picks the worst state across instances", () => {
    expect(worstState(["closed", "half_open", "closed"])).toBe("half_open");
    expect(worstState(["half_open", "open"])).toBe("open");
    expect(worstState([])).toBeUndefined();
  });
});

describe("describeReason", () => {
  it("reads a failure-rate trip as a sentence", () => {
    expect(
      describeReason({ trigger: "failure_rate", observed: 62, threshold: 50, calls: 50 }),
    ).toBe("failure rate 62% ≥ 50% over 50 calls");
  });
  it("mentions open time and Retry-After", () => {
    expect(
      describeReason({
        trigger: "consecutive_failures",
        observed: 10,
        threshold: 10,
        openForMs: 3000,
        retryAfterMs: 5000,
      }),
    ).toBe("consecutive failures 10 ≥ 10; open for 3 s (upstream asked to wait 5 s)");
    expect(describeReason({ trigger: "forced" })).toBe("forced by an operator");
    expect(describeReason(undefined)).toBeUndefined();
  });
});

describe("breaker strip", () => {
  it("builds spans from transitions", () => {
    const spans = spansFromTransitions(
      [
        { at: 40, to: "open" },
        { at: 20, to: "half_open" },
      ],
      "closed",
      0,
      100,
    );
    expect(spans).toEqual([
      { from: 0, to: 20, state: "closed" },
      { from: 20, to: 40, state: "half_open" },
      { from: 40, to: 100, state: "open" },
    ]);
  });

  it("clips, merges neighbours and fills gaps with the state in force", () => {
    const segs = layoutStrip(
      [
        { from: -50, to: 10, state: "open" },
        { from: 10, to: 30, state: "open" },
        { from: 50, to: 80, state: "closed" },
        { from: 80, to: 500, state: "half_open" },
      ],
      0,
      100,
    );
    expect(segs.map((s) => [s.from, s.to, s.state])).toEqual([
      [0, 50, "open"],
      [50, 80, "closed"],
      [80, 100, "half_open"],
    ]);
    expect(segs.reduce((a, s) => a + s.width, 0)).toBeCloseTo(100);
    expect(segs[1]!.left).toBeCloseTo(50);
  });

  it("shows an empty range as closed", () => {
    expect(layoutStrip([], 0, 10)).toEqual([
      { from: 0, to: 10, state: "closed", left: 0, width: 100 },
    ]);
    expect(layoutStrip([], 10, 10)).toEqual([]);
  });
});

describe("fillUnknown", () => {
  it("uses the current state only when nothing is known", () => {
    expect(fillUnknown([{ from: 0, to: 10, state: "unknown" }], "closed")).toEqual([
      { from: 0, to: 10, state: "closed" },
    ]);
    const mixed = [
      { from: 0, to: 5, state: "unknown" },
      { from: 5, to: 10, state: "open" },
    ];
    expect(fillUnknown(mixed, "open")).toEqual(mixed);
    expect(fillUnknown([{ from: 0, to: 10, state: "unknown" }], undefined)[0]!.state).toBe(
      "unknown",
    );
  });
});
