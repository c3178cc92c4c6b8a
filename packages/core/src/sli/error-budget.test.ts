import { describe, expect, it } from "vitest";
import { burnRate, errorBudget, shouldAlert } from "./error-budget";

describe("errorBudget", () => {
  it("computes the allowed bad events and the share left", () => {
    // 99.9% of 100,000 requests: (1 − 0.999) · 100,000 = 100 bad allowed.
    // 99,975 good → 25 bad → (100 − 25) / 100 = 0.75 of the budget left.
    const b = errorBudget({ target: 0.999, good: 99_975, total: 100_000 });
    expect(b.allowedBad).toBeCloseTo(100, 9);
    expect(b.bad).toBe(25);
    expect(b.remainingFraction).toBeCloseTo(0.75, 9);
  });

  it("goes negative when the budget is overspent", () => {
    // 99% of 1,000: 10 allowed; 960 good → 40 bad → (10 − 40) / 10 = −3.
    const b = errorBudget({ target: 0.99, good: 960, total: 1000 });
    expect(b.allowedBad).toBeCloseTo(10, 9);
    expect(b.bad).toBe(40);
    expect(b.remainingFraction).toBeCloseTo(-3, 9);
  });

  it("is untouched with no traffic and exactly spent at the limit", () => {
    expect(errorBudget({ target: 0.999, good: 0, total: 0 })).toEqual({
      allowedBad: 0,
      bad: 0,
      remainingFraction: 1,
    });
    // 95% of 200: 10 allowed, 190 good → 10 bad → 0 left.
    expect(errorBudget({ target: 0.95, good: 190, total: 200 }).remainingFraction).toBeCloseTo(
      0,
      9,
    );
  });
});

describe("burnRate", () => {
  it("is the error ratio divided by the budget ratio", () => {
    // 1% errors against 99.9%: 0.01 / 0.001 = 10.
    expect(burnRate(0.01, 0.999)).toBeCloseTo(10, 9);
    // 0.1% errors against 99.9%: burning exactly the budget.
    expect(burnRate(0.001, 0.999)).toBeCloseTo(1, 9);
    // 5% errors against 99%: 0.05 / 0.01 = 5.
    expect(burnRate(0.05, 0.99)).toBeCloseTo(5, 9);
    expect(burnRate(0, 0.99)).toBe(0);
  });
});

describe("shouldAlert (1 h and 5 min windows, SRE workbook)", () => {
  it("alerts only when both windows burn at or above the threshold", () => {
    // 99.9%: a burn rate of 14.4 is an error ratio of 14.4 · 0.001 = 0.0144.
    expect(shouldAlert({ longErrorRatio: 0.0144, shortErrorRatio: 0.0144, target: 0.999 })).toBe(
      true,
    );
    // Long window still high, short window recovered (0.005 / 0.001 = 5 < 14.4): no page.
    expect(shouldAlert({ longErrorRatio: 0.02, shortErrorRatio: 0.005, target: 0.999 })).toBe(
      false,
    );
    // A fresh spike: short window at 0.5 / 0.001 = 500, long window 0.01 / 0.001 = 10 < 14.4.
    expect(shouldAlert({ longErrorRatio: 0.01, shortErrorRatio: 0.5, target: 0.999 })).toBe(false);
    // Just under: 0.0143 / 0.001 = 14.3.
    expect(shouldAlert({ longErrorRatio: 0.0143, shortErrorRatio: 0.05, target: 0.999 })).toBe(
      false,
    );
  });

  it("uses the configured threshold", () => {
    // 99%: 3% errors → 0.03 / 0.01 = 3; alerts at threshold 2, not at 6.
    expect(
      shouldAlert({ longErrorRatio: 0.03, shortErrorRatio: 0.03, target: 0.99, threshold: 2 }),
    ).toBe(true);
    expect(
      shouldAlert({ longErrorRatio: 0.03, shortErrorRatio: 0.03, target: 0.99, threshold: 6 }),
    ).toBe(false);
  });
});
