import { describe, expect, it } from "vitest";
import type { InstanceSnapshot } from "@rg/core";
import { GatewayMetrics } from "./metrics";

function lines(text: string, name: string): string[] {
  return text.split("\n").filter((l) => l.startsWith(name));
}

describe("GatewayMetrics", () => {
  it("counts requests by route, upstream and result", async () => {
    const m = new GatewayMetrics();
    m.request("api", "a", "success", 0.002);
    m.request("api", "a", "success", 0.003);
    m.request("api", "b", "http_5xx", 0.1);
    m.request("search", "s", "cache_hit", 0.0001);
    const text = await m.text();
    expect(text).toContain("# TYPE rg_requests_total counter");
    expect(lines(text, "rg_requests_total{").sort()).toEqual([
      'rg_requests_total{route="api",upstream="a",result="success"} 2',
      'rg_requests_total{route="api",upstream="b",result="http_5xx"} 1',
      'rg_requests_total{route="search",upstream="s",result="cache_hit"} 1',
    ]);
  });

  it("exports a cumulative latency histogram per route with sum and count", async () => {
    const m = new GatewayMetrics();
    for (const s of [0.0005, 0.001, 0.002, 0.02, 0.3, 20]) m.request("api", "a", "success", s);
    const text = await m.text();
    expect(text).toContain("# TYPE rg_request_duration_seconds histogram");
    const bucket = (le: string) =>
      lines(text, `rg_request_duration_seconds_bucket{route="api",le="${le}"}`)[0]?.split(" ")[1];
    expect(bucket("0.001")).toBe("2");
    expect(bucket("0.0025")).toBe("3");
    expect(bucket("0.025")).toBe("4");
    expect(bucket("0.5")).toBe("5");
    expect(bucket("10")).toBe("5");
    expect(bucket("+Inf")).toBe("6");
    expect(lines(text, 'rg_request_duration_seconds_count{route="api"}')).toEqual([
      'rg_request_duration_seconds_count{route="api"} 6',
    ]);
    const sum = Number(
      lines(text, 'rg_request_duration_seconds_sum{route="api"}')[0]!.split(" ")[1],
    );
    expect(sum).toBeCloseTo(20.3235, 6);
  });

  it("starts from zero after a registry reset", async () => {
    const m = new GatewayMetrics();
    m.request("api", "a", "success", 0.002);
    m.registry.resetMetrics();
    expect(lines(await m.text(), "rg_requests_total{")).toEqual([]);
  });

  it("appends Node's process metrics: event-loop delay, memory, CPU, GC", async () => {
    const a = new GatewayMetrics();
    const b = new GatewayMetrics();
    a.request("api", "a", "success", 0.002);
    const text = await a.text();
    const value = (name: string) => Number(lines(text, `${name} `)[0]?.split(" ")[1]);
    expect(value("process_resident_memory_bytes")).toBeGreaterThan(1_000_000);
    expect(value("nodejs_eventloop_lag_p99_seconds")).toBeGreaterThanOrEqual(0);
    expect(text).toContain("# TYPE process_cpu_seconds_total counter");
    expect(text).toContain("# TYPE nodejs_gc_duration_seconds histogram");
    // Each gateway's own series stay its own; the process's are the same in both.
    expect(lines(text, "rg_requests_total{")).toHaveLength(1);
    const other = await b.text();
    expect(lines(other, "rg_requests_total{")).toHaveLength(0);
    expect(lines(other, "# TYPE process_resident_memory_bytes")).toHaveLength(1);
  });

  it("reports the store writer's health and where it writes, only when there is a writer", async () => {
    const m = new GatewayMetrics();
    const snap = (telemetry: InstanceSnapshot["telemetry"]): InstanceSnapshot => ({
      instanceId: "gw",
      pid: 1,
      startedAt: 0,
      at: 1,
      revision: 1,
      mode: "normal",
      upstreams: {},
      routes: {},
      inFlight: 0,
      telemetry,
    });
    m.fromSnapshot(snap({ queued: 0, written: 0, dropped: {} }));
    expect(lines(await m.text(), "rg_store_writer_healthy{")).toEqual([]);
    m.fromSnapshot(snap({ queued: 0, written: 5, dropped: {}, healthy: true, mode: "thread" }));
    expect(lines(await m.text(), "rg_store_writer_healthy{")).toEqual([
      'rg_store_writer_healthy{mode="thread"} 1',
    ]);
    // The thread died and the writer fell back; its next flush failed.
    m.fromSnapshot(snap({ queued: 3, written: 5, dropped: {}, healthy: false, mode: "in_thread" }));
    expect(lines(await m.text(), "rg_store_writer_healthy{")).toEqual([
      'rg_store_writer_healthy{mode="in_thread"} 0',
    ]);
  });
});
