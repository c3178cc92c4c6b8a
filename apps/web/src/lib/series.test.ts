import { describe, expect, it } from "vitest";
import { asPercent, inferStep, toRates } from "./series";

const point = (t: number, success: number, http5xx = 0) => ({
  t,
  total: success + http5xx,
  success,
  http5xx,
  connectError: 0,
  timeout: 0,
  rateLimited: 0,
  clientError: 0,
  rejected: 0,
});

describe("series", () => {
  it("infers the step from the most common gap", () => {
    expect(inferStep([0, 60_000, 120_000, 240_000, 300_000])).toBe(60_000);
    expect(inferStep([5])).toBe(1000);
    expect(inferStep([], 5000)).toBe(5000);
  });

  it("turns counts per minute into requests per second", () => {
    const rates = toRates([point(0, 600, 60), point(60_000, 120)]);
    expect(rates[0]).toMatchObject({ t: 0, success: 10, http5xx: 1 });
    expect(rates[1]).toMatchObject({ t: 60_000, success: 2, http5xx: 0 });
  });

  it("normalises error rates to percent", () => {
    expect(asPercent(0.125, true)).toBe(12.5);
    expect(asPercent(12.5, false)).toBe(12.5);
    expect(asPercent(Number.NaN, true)).toBeNull();
  });
});
