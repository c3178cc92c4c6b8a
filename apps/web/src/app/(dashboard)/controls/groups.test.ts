import { describe, expect, it } from "vitest";
import { groupById, groupPath, mergeEdits } from "./groups";

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
});
