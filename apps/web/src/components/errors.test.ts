import { describe, expect, it } from "vitest";
import { errorText } from "./errors";

describe("errorText", () => {
  it("lists config issues as path: reason", () => {
    expect(
      errorText({
        message: "x",
        data: {
          issues: [{ path: "upstreams.p.circuitBreaker.failureRateThreshold", message: "Too big" }],
        },
      }),
    ).toBe("upstreams.p.circuitBreaker.failureRateThreshold: Too big");
  });
  it("explains role and session refusals", () => {
    expect(errorText({ data: { code: "FORBIDDEN" } })).toBe(
      "Your role does not allow this action.",
    );
    expect(errorText({ message: "boom", data: null })).toBe("boom");
  });
});
