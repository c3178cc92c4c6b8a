import { describe, expect, it } from "vitest";
import { rangeFor, refetchMsFor, windowById, WINDOWS } from "./windows";

describe("windows", () => {
  it("offers the six windows and falls back to the first", () => {
    expect(WINDOWS.map((w) => w.label)).toEqual(["15 min", "1 h", "6 h", "24 h", "7 d", "30 d"]);
    expect(windowById("6h").ms).toBe(6 * 3_600_000);
    expect(windowById("nope").id).toBe("15m");
  });
  it("aligns the range end so polls in one second share a range", () => {
    const w = windowById("1h");
    expect(rangeFor(w, 10_400)).toEqual({ from: 11_000 - 3_600_000, to: 11_000 });
    expect(rangeFor(w, 10_900)).toEqual(rangeFor(w, 10_001));
    expect(refetchMsFor(w)).toBe(2000);
    expect(refetchMsFor(windowById("30d"))).toBe(60_000);
  });
});
