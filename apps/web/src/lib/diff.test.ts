import { describe, expect, it } from "vitest";
import { diffValues, joinPath } from "./diff";

describe("diffValues", () => {
  it("lists changed, added and removed leaves by path", () => {
    const before = { failureRateThreshold: 50, window: { type: "count", size: 100 }, x: [1] };
    const after = { failureRateThreshold: 40, window: { type: "count", size: 50 }, y: true };
    expect(diffValues(before, after)).toEqual([
      { path: "failureRateThreshold", kind: "changed", before: 50, after: 40 },
      { path: "window.size", kind: "changed", before: 100, after: 50 },
      { path: "x", kind: "removed", before: [1], after: undefined },
      { path: "y", kind: "added", before: undefined, after: true },
    ]);
  });

  it("diffs scalars at the root and finds nothing when equal", () => {
    expect(diffValues("normal", "read_only")).toEqual([
      { path: "", kind: "changed", before: "normal", after: "read_only" },
    ]);
    expect(diffValues({ a: [1, 2] }, { a: [1, 2] })).toEqual([]);
    expect(diffValues(undefined, 5)).toEqual([
      { path: "", kind: "added", before: undefined, after: 5 },
    ]);
  });

  it("joins paths", () => {
    expect(joinPath("upstreams.p.circuitBreaker", "window.size")).toBe(
      "upstreams.p.circuitBreaker.window.size",
    );
    expect(joinPath("gateway.mode", "")).toBe("gateway.mode");
  });
});
