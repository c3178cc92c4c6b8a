import { describe, expect, it, vi } from "vitest";
import {
  EventBus,
  LATENCY_CELLS,
  emptyCounts,
  loadConfig,
  type InstanceSnapshot,
  type ResilienceEvent,
  type SliBucket,
} from "@rg/core";
import { Telemetry } from "./telemetry";
import type { EventWriterPort } from "./ports";

const config = loadConfig({
  upstreams: { a: { endpoints: { x: { url: "http://127.0.0.1:1" } } } },
  routes: { r: { match: { pathPrefix: "/" }, upstream: "a", slo: { successTarget: 0.99 } } },
});

function bucket(start: number, ok: number, bad: number): SliBucket {
  const counts = emptyCounts();
  counts.success = ok;
  counts.http_5xx = bad;
  return {
    start,
    route: "r",
    upstream: "a",
    counts,
    rejected: 0,
    retries: 0,
    fallbacks: 0,
    slow: 0,
    latency: new Array<number>(LATENCY_CELLS).fill(0),
  };
}

/** The one endpoint as the endpoint set reports it: weight 0 in use when it cannot be picked. */
function snapshot(healthy: boolean, weight = 1): InstanceSnapshot {
  return {
    instanceId: "i",
    pid: 1,
    startedAt: 0,
    at: 0,
    revision: 1,
    mode: "normal",
    upstreams: {
      a: {
        breakers: [],
        bulkhead: { inFlight: 0, queued: 0, maxConcurrent: 1, maxQueue: 0, rejected: 0 },
        endpoints: [
          {
            id: "x",
            url: "u",
            healthy,
            ejected: false,
            ejections: 0,
            weight,
            effectiveWeight: healthy ? weight : 0,
            inFlight: 0,
          },
        ],
        retryBudget: { active: 0, retrying: 0, exhausted: 0 },
      },
    },
    routes: {},
    inFlight: 0,
    telemetry: { queued: 0, written: 0, dropped: {} },
  };
}

describe("Telemetry", () => {
  it("emits slo.burn when both windows burn above the threshold, and upstream.unavailable once", () => {
    const bus = new EventBus();
    const seen: ResilienceEvent[] = [];
    bus.on((e) => seen.push(e));
    const now = 10 * 3600_000;
    let pending: SliBucket[] = [bucket(now - 2000, 50, 50)];
    let healthy = false;
    const t = new Telemetry({
      bus,
      writer: undefined,
      drainSli: () => {
        const out = pending;
        pending = [];
        return out;
      },
      snapshot: () => snapshot(healthy),
      config: () => config,
      wallNow: () => now,
    });
    t.tick();
    // Error ratio 0.5 against a 1% budget: burn rate 50 in both windows (≥ 14.4).
    const burn = seen.find((e) => e.type === "slo.burn");
    expect(burn).toMatchObject({ route: "r", threshold: 14.4 });
    expect(burn && "longBurnRate" in burn ? burn.longBurnRate : 0).toBeCloseTo(50);
    expect(seen.filter((e) => e.type === "upstream.unavailable")).toHaveLength(1);
    t.tick();
    expect(seen.filter((e) => e.type === "upstream.unavailable")).toHaveLength(1);
    expect(seen.filter((e) => e.type === "slo.burn")).toHaveLength(1);
    healthy = true;
    t.tick();
    healthy = false;
    t.tick();
    expect(seen.filter((e) => e.type === "upstream.unavailable")).toHaveLength(2);
    // No writer: events are counted as dropped, never thrown.
    expect(t.stats().dropped.no_store).toBeGreaterThan(0);
  });

  it("emits upstream.unavailable when the only healthy endpoints are drained", () => {
    const bus = new EventBus();
    const seen: ResilienceEvent[] = [];
    bus.on((e) => seen.push(e));
    let weight = 1;
    const t = new Telemetry({
      bus,
      writer: undefined,
      drainSli: () => [],
      snapshot: () => snapshot(true, weight),
      config: () => config,
      wallNow: () => 1000,
    });
    t.tick();
    expect(seen.filter((e) => e.type === "upstream.unavailable")).toEqual([]);
    weight = 0;
    t.tick();
    expect(seen.filter((e) => e.type === "upstream.unavailable")).toEqual([
      { type: "upstream.unavailable", at: 1000, upstream: "a", healthy: 0, total: 1 },
    ]);
  });

  it("counts drops when the writer throws and keeps going", () => {
    const bus = new EventBus();
    const writer: EventWriterPort = {
      enqueueEvent: () => {
        throw new Error("broken");
      },
      enqueueSli: () => {
        throw new Error("broken");
      },
      setSnapshot: () => {
        throw new Error("broken");
      },
      stats: () => ({ queued: 0, written: 0, dropped: { queue_full: 2 } }),
      close: () => Promise.reject(new Error("broken")),
    };
    const t = new Telemetry({
      bus,
      writer,
      drainSli: () => [bucket(0, 1, 0)],
      snapshot: () => snapshot(true),
      config: () => config,
      wallNow: () => 5000,
    });
    bus.emit({ type: "config.applied", at: 1, revision: 1 });
    expect(() => t.tick()).not.toThrow();
    expect(t.stats().dropped).toMatchObject({ queue_full: 2, store_error: 3 });
    return expect(t.close()).resolves.toBe("closed");
  });

  it("stops waiting for a store that never finishes its last flush", async () => {
    vi.useFakeTimers();
    try {
      const bus = new EventBus();
      let closeCalled = false;
      const writer: EventWriterPort = {
        enqueueEvent: () => true,
        enqueueSli: () => {},
        setSnapshot: () => {},
        stats: () => ({ queued: 5, written: 0, dropped: {} }),
        close: () => {
          closeCalled = true;
          return new Promise<void>(() => {});
        },
      };
      const t = new Telemetry({
        bus,
        writer,
        drainSli: () => [],
        snapshot: () => snapshot(true),
        config: () => config,
        wallNow: () => 5000,
        closeTimeoutMs: 2000,
      });
      let result: string | undefined;
      void t.close().then((r) => (result = r));
      await vi.advanceTimersByTimeAsync(1999);
      expect(closeCalled).toBe(true);
      expect(result).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(result).toBe("timed_out");
    } finally {
      vi.useRealTimers();
    }
  });
});
