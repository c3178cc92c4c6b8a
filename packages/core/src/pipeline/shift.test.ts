import { describe, expect, it } from "vitest";
import { TrafficShift } from "./shift";

describe("TrafficShift", () => {
  it("ramps from 0 to the share over durationMs, then holds", () => {
    const s = new TrafficShift();
    s.update({ to: "b", percent: 40, durationMs: 8000 }, 1000);
    expect(s.target).toBe("b");
    expect(s.percent(1000)).toBe(0);
    expect(s.percent(3000)).toBe(10); // 2000 / 8000 of 40
    expect(s.percent(5000)).toBe(20);
    expect(s.percent(9000)).toBe(40);
    expect(s.percent(99_000)).toBe(40);
  });

  it("keeps the ramp when the same config is applied again", () => {
    const s = new TrafficShift();
    s.update({ to: "b", percent: 40, durationMs: 8000 }, 0);
    s.update({ to: "b", percent: 40, durationMs: 8000 }, 4000);
    expect(s.percent(4000)).toBe(20);
  });

  it("ramps a changed share from the share in effect, not from zero", () => {
    const s = new TrafficShift();
    s.update({ to: "b", percent: 20, durationMs: 0 }, 0);
    expect(s.percent(0)).toBe(20);
    s.update({ to: "b", percent: 60, durationMs: 4000 }, 1000);
    expect(s.percent(1000)).toBe(20);
    expect(s.percent(2000)).toBe(30); // 20 + (60 − 20) · 1/4
    expect(s.percent(5000)).toBe(60);
    // A new target starts from zero.
    s.update({ to: "c", percent: 50, durationMs: 1000 }, 5000);
    expect(s.percent(5500)).toBe(25);
  });

  it("stops at once when the shift is removed", () => {
    const s = new TrafficShift();
    s.update({ to: "b", percent: 50, durationMs: 0 }, 0);
    s.update(undefined, 10);
    expect(s.target).toBeUndefined();
    expect(s.percent(10)).toBe(0);
  });
});
