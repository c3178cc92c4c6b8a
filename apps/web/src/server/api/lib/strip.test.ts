import { describe, expect, it } from "vitest";
import { segmentsFrom } from "./strip";

describe("breaker strip segments", () => {
  it("covers the range with the state in force at each moment", () => {
    expect(
      segmentsFrom(
        "closed",
        [
          { at: 300, to: "half_open" },
          { at: 100, to: "open" },
          { at: 400, to: "closed" },
        ],
        0,
        1000,
      ),
    ).toEqual([
      { from: 0, to: 100, state: "closed" },
      { from: 100, to: 300, state: "open" },
      { from: 300, to: 400, state: "half_open" },
      { from: 400, to: 1000, state: "closed" },
    ]);
  });

  it("ignores repeated reports of the same state and transitions outside the range", () => {
    expect(
      segmentsFrom(
        "unknown",
        [
          { at: -5, to: "open" },
          { at: 10, to: "open" },
          { at: 20, to: "open" },
          { at: 2000, to: "closed" },
        ],
        0,
        100,
      ),
    ).toEqual([
      { from: 0, to: 10, state: "unknown" },
      { from: 10, to: 100, state: "open" },
    ]);
  });
});
