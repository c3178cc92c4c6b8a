import { describe, expect, it } from "vitest";
import { changedFields, groupById, groupPath, mergeEdits } from "./groups";

describe("control groups", () => {
  it("addresses the group in the config", () => {
    expect(groupPath(groupById("breaker"), "payments")).toBe("upstreams.payments.circuitBreaker");
    expect(groupPath(groupById("timeouts"), "search")).toBe("routes.search.timeouts");
  });

  it("merges typed numbers and keeps non-numbers for validation to name", () => {
    expect(
      mergeEdits({ failureRateThreshold: 50, minimumCalls: 20 }, { failureRateThreshold: " 40 " }),
    ).toEqual({ failureRateThreshold: 40, minimumCalls: 20 });
    expect(mergeEdits({ a: 1 }, { a: "abc" })).toEqual({ a: "abc" });
    expect(mergeEdits({ a: 1 }, { a: "" })).toEqual({ a: "" });
  });

  it("sends only the fields the operator changed, never the ones left alone", () => {
    const current = { failureRateThreshold: 50, minimumCalls: 20, forcedState: "forced_open" };
    expect(changedFields(current, { minimumCalls: " 25 ", failureRateThreshold: "50" })).toEqual({
      minimumCalls: 25,
    });
    expect(changedFields(current, { minimumCalls: "lots" })).toEqual({ minimumCalls: "lots" });
    expect(changedFields(current, {})).toEqual({});
  });
});
