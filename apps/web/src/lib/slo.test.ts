import { describe, expect, it } from "vitest";
import { budgetView, burnView } from "./slo";

describe("slo views", () => {
  it("shows budget left with a tone by how much is left", () => {
    expect(budgetView(0.8)).toEqual({ text: "80% left", short: "80%", tone: "ok" });
    expect(budgetView(0.3)).toMatchObject({ text: "30% left", tone: "warn" });
    expect(budgetView(0.1).tone).toBe("bad");
    expect(budgetView(-0.4)).toEqual({ text: "exhausted", short: "spent", tone: "bad" });
    expect(budgetView(null).text).toBe("—");
  });
  it("marks burn at or above the alert threshold", () => {
    expect(burnView(20, 14.4)).toEqual({ text: "20× ▲", tone: "bad" });
    expect(burnView(14.4, 14.4).tone).toBe("bad");
    expect(burnView(2.5, 14.4)).toEqual({ text: "2.5×", tone: "warn" });
    expect(burnView(0.2, 14.4)).toEqual({ text: "0.2×", tone: "ok" });
  });
});
