import { describe, expect, it } from "vitest";
import {
  formatAgo,
  formatBurn,
  formatClock,
  formatDateTime,
  formatDuration,
  formatMs,
  formatPercent,
  formatRate,
  formatTick,
  formatValue,
} from "./format";

describe("formatDuration", () => {
  it.each([
    [0, "0 ms"],
    [850, "850 ms"],
    [4200, "4.2 s"],
    [5000, "5 s"],
    [42_000, "42 s"],
    [200_000, "3 min 20 s"],
    [180_000, "3 min"],
    [7_500_000, "2 h 5 min"],
    [3 * 86_400_000 + 4 * 3_600_000, "3 d 4 h"],
    [-2000, "-2 s"],
  ])("%d ms → %s", (ms, text) => expect(formatDuration(ms)).toBe(text));

  it("renders missing values as a dash", () => {
    expect(formatDuration(undefined)).toBe("—");
    expect(formatDuration(Number.NaN)).toBe("—");
  });
});

describe("formatAgo", () => {
  it("speaks relative to now", () => {
    expect(formatAgo(1_000_000 - 12_000, 1_000_000)).toBe("12 s ago");
    expect(formatAgo(1_000_000 + 180_000, 1_000_000)).toBe("in 3 min");
    expect(formatAgo(1_000_000 - 300, 1_000_000)).toBe("just now");
  });
});

describe("formatPercent", () => {
  it("keeps precision where it matters", () => {
    expect(formatPercent(62)).toBe("62%");
    expect(formatPercent(2.345)).toBe("2.3%");
    expect(formatPercent(0.04)).toBe("0.04%");
    expect(formatPercent(0)).toBe("0%");
    expect(formatPercent(0.999, { fraction: true, digits: 1 })).toBe("99.9%");
    expect(formatPercent(null)).toBe("—");
  });

  it("shows SLO targets with the decimals that tell them from 100%", () => {
    expect(formatPercent(0.99999 * 100, { digits: 2 })).toBe("99.999%");
    expect(formatPercent(0.99995 * 100, { digits: 2 })).toBe("99.995%");
    expect(formatPercent(0.9995 * 100, { digits: 2 })).toBe("99.95%");
    expect(formatPercent(0.999 * 100, { digits: 2 })).toBe("99.9%");
    expect(formatPercent(0.995 * 100)).toBe("99.5%");
    expect(formatPercent(0.999 * 100)).toBe("99.9%");
    expect(formatPercent(0.99 * 100)).toBe("99%");
    expect(formatPercent(100)).toBe("100%");
    expect(formatPercent(99.99999)).toBe(">99.999%");
  });

  it("never shows a non-zero value as 0%", () => {
    expect(formatPercent(0.003)).toBe("<0.01%");
    expect(formatPercent(0.00003, { fraction: true })).toBe("<0.01%");
    expect(formatPercent(0.3, { digits: 0 })).toBe("<1%");
    expect(formatPercent(-0.003)).toBe(">-0.01%");
  });
});

describe("small formats", () => {
  it("formats latency, rate, burn, clock and values", () => {
    expect(formatMs(0.84)).toBe("0.8 ms");
    expect(formatMs(42.4)).toBe("42 ms");
    expect(formatMs(1250)).toBe("1.25 s");
    expect(formatRate(0)).toBe("0");
    expect(formatRate(12.5)).toBe("13");
    expect(formatRate(2.46)).toBe("2.5");
    expect(formatRate(1234)).toBe("1.2k");
    expect(formatRate(2 / 60)).toBe("<0.1");
    expect(formatRate(2 / 60, { exact: true })).toBe("0.033");
    expect(formatRate(0.05)).toBe("0.1");
    expect(formatBurn(0.02)).toBe("<0.1×");
    expect(formatMs(0.01)).toBe("<0.1 ms");
    expect(formatBurn(14.4)).toBe("14.4×");
    expect(formatBurn(0.25)).toBe("0.3×");
    expect(formatClock(Date.UTC(2026, 10, 23, 3, 4, 5))).toBe("03:04:05");
    expect(formatDateTime(Date.UTC(2026, 10, 23, 3, 4, 5))).toBe("2026-11-23 03:04:05 UTC");
    expect(formatValue(undefined)).toBe("(default)");
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
  });
});

describe("formatTick", () => {
  it("shows seconds for short ranges and days for long ones", () => {
    const at = Date.UTC(2026, 10, 23, 17, 0, 52);
    expect(formatTick(at, 5 * 60_000)).toBe("17:00:52");
    expect(formatTick(at, 3_600_000)).toBe("17:00");
    expect(formatTick(at, 7 * 86_400_000)).toBe("11-23 17h");
  });
});
