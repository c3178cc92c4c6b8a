import { describe, expect, it } from "vitest";
import { describeEvent } from "./events";

describe("describeEvent", () => {
  it("says why a breaker opened", () => {
    const v = describeEvent({
      type: "breaker.transition",
      at: 1,
      upstream: "payments",
      from: "closed",
      to: "open",
      reason: { trigger: "failure_rate", observed: 62, threshold: 50, calls: 50 },
    });
    expect(v.text).toBe("Breaker payments closed → open: failure rate 62% ≥ 50% over 50 calls");
    expect(v.tone).toBe("bad");
    expect(v.kind).toBe("breaker");
  });

  it("describes mode changes and ejections with distinct icons", () => {
    const mode = describeEvent({
      type: "mode.changed",
      at: 1,
      scope: "gateway",
      target: "gateway",
      from: "normal",
      to: "read_only",
    });
    expect(mode.text).toBe("Gateway mode Normal → Read-only");
    const ej = describeEvent({
      type: "outlier.ejected",
      at: 1,
      upstream: "payments",
      endpoint: "a",
      reason: "5 consecutive 5xx",
      ejectionMs: 10_000,
    });
    expect(ej.text).toBe("Endpoint payments/a ejected for 10 s: 5 consecutive 5xx");
    expect(ej.icon).not.toBe(mode.icon);
  });

  it("still renders an unknown event type", () => {
    expect(describeEvent({ type: "something.new" }).text).toBe("something.new");
  });
});
