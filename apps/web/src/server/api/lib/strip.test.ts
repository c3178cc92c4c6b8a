import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BreakerState, ResilienceEvent } from "@rg/core";
import { appendEvents, openStore } from "@rg/db";
import { describe, expect, it } from "vitest";
import { breakerStrip, segmentsFrom } from "./strip";

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

describe("breaker strip from the store", () => {
  it("reads transitions as the store returns them", () => {
    const dir = mkdtempSync(join(tmpdir(), "rg-strip-"));
    const store = openStore(join(dir, "strip.db"));
    try {
      const transition = (at: number, from: BreakerState, to: BreakerState): ResilienceEvent => ({
        type: "breaker.transition",
        at,
        upstream: "payments",
        from,
        to,
        reason: { trigger: "failure_rate", observed: 60, threshold: 50 },
      });
      appendEvents(store, "gw-1", [
        transition(50, "half_open", "closed"),
        transition(1100, "closed", "open"),
        transition(1400, "open", "half_open"),
        transition(1500, "half_open", "closed"),
      ]);
      expect(breakerStrip(store, "payments", 1000, 2000)).toEqual([
        { from: 1000, to: 1100, state: "closed" },
        { from: 1100, to: 1400, state: "open" },
        { from: 1400, to: 1500, state: "half_open" },
        { from: 1500, to: 2000, state: "closed" },
      ]);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
