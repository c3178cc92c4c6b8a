import { describe, expect, it } from "vitest";
import type { ModeName } from "../config/schema";
import { effectiveMode, modeDecision, type ModeDecision } from "./mode";

const MODES: ModeName[] = ["normal", "degraded", "read_only"];

describe("effectiveMode", () => {
  it("takes the stricter of gateway and route", () => {
    const table: [ModeName, ModeName, ModeName][] = [
      ["normal", "normal", "normal"],
      ["normal", "degraded", "degraded"],
      ["normal", "read_only", "read_only"],
      ["degraded", "normal", "degraded"],
      ["degraded", "degraded", "degraded"],
      ["degraded", "read_only", "read_only"],
      ["read_only", "normal", "read_only"],
      ["read_only", "degraded", "read_only"],
      ["read_only", "read_only", "read_only"],
    ];
    for (const [g, r, want] of table) expect(effectiveMode(g, r), `${g} + ${r}`).toBe(want);
  });
});

describe("modeDecision", () => {
  // Expected decision for an effective mode, method kind and criticality.
  function expected(mode: ModeName, safe: boolean, critical: boolean): ModeDecision {
    if (mode === "read_only") return safe ? "pass" : "reject_read_only";
    if (mode === "degraded") return critical ? "pass" : "serve_degraded";
    return "pass";
  }

  it("covers every combination of modes, methods and criticality", () => {
    const methods: [string, boolean][] = [
      ["GET", true],
      ["HEAD", true],
      ["OPTIONS", true],
      ["POST", false],
      ["PUT", false],
      ["PATCH", false],
      ["DELETE", false],
    ];
    let checked = 0;
    for (const gatewayMode of MODES)
      for (const routeMode of MODES)
        for (const [method, safe] of methods)
          for (const criticality of ["critical", "non_critical"] as const) {
            const mode = effectiveMode(gatewayMode, routeMode);
            expect(
              modeDecision({ method, gatewayMode, routeMode, criticality }),
              `${gatewayMode}/${routeMode} ${method} ${criticality}`,
            ).toBe(expected(mode, safe, criticality === "critical"));
            checked++;
          }
    expect(checked).toBe(3 * 3 * 7 * 2);
  });

  it("spot checks", () => {
    const base = { gatewayMode: "normal" as const, criticality: "critical" as const };
    expect(modeDecision({ ...base, method: "POST", routeMode: "read_only" })).toBe(
      "reject_read_only",
    );
    expect(modeDecision({ ...base, method: "GET", routeMode: "read_only" })).toBe("pass");
    expect(
      modeDecision({ ...base, method: "GET", routeMode: "degraded", criticality: "non_critical" }),
    ).toBe("serve_degraded");
    expect(modeDecision({ ...base, method: "POST", routeMode: "degraded" })).toBe("pass");
    // Read-only wins over degraded even for a non-critical route's write.
    expect(
      modeDecision({
        method: "POST",
        gatewayMode: "degraded",
        routeMode: "read_only",
        criticality: "non_critical",
      }),
    ).toBe("reject_read_only");
  });
});
