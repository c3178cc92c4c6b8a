/** overview.get when gateway instances stop reporting, and "no data" apart from zero. */
import { ALIVE_MS, writeSliBuckets, writeSnapshot } from "@rg/db";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestEnv, TEST_NOW, type TestEnv } from "../../../testing/harness";
import { paymentsSecond, paymentsSnapshot } from "./overview.fixtures";

let env: TestEnv;
beforeEach(async () => {
  env = await createTestEnv();
});
afterEach(() => env.close());

describe("overview.get with every gateway instance silent", () => {
  it("says so, keeps each breaker's last known state, and has no figures for the last minute", async () => {
    const crashedAt = TEST_NOW - 180_000;
    writeSnapshot(env.store, paymentsSnapshot("gw-1", crashedAt, "open"));
    writeSnapshot(env.store, paymentsSnapshot("gw-0", crashedAt - 600_000, "closed"));
    const seconds = [];
    for (let s = 240; s > 180; s--) seconds.push(paymentsSecond(TEST_NOW - s * 1000, 0, 20));
    writeSliBuckets(env.store, seconds);

    const o = await env.caller("viewer").overview.get();
    expect(o.gateways).toEqual({
      alive: 0,
      total: 2,
      lastHeartbeatAt: crashedAt,
      silentForMs: 180_000,
    });
    const payments = o.upstreams.find((u) => u.id === "payments")!;
    // From the newest silent instance, not the older one.
    expect(payments).toMatchObject({
      state: "open",
      since: crashedAt - 60_000,
      reportedAt: crashedAt,
      rps: null,
      errorRate: null,
      p99: null,
    });
    expect(o.upstreams.find((u) => u.id === "catalog")).toMatchObject({
      state: "unknown",
      reportedAt: null,
      rps: null,
    });
  });

  it("an instance is silent from the same age as in the instances table", async () => {
    writeSnapshot(env.store, paymentsSnapshot("gw-1", TEST_NOW - ALIVE_MS, "closed"));
    const o = await env.caller("viewer").overview.get();
    expect(o.instances[0]!.alive).toBe(false);
    expect(o.gateways).toMatchObject({ alive: 0, silentForMs: ALIVE_MS });
  });
});

describe("overview.get with a live instance", () => {
  it("reports zero traffic as 0 req/s, and no error rate or p99 without requests", async () => {
    writeSnapshot(env.store, paymentsSnapshot("gw-1", TEST_NOW - 500, "closed"));
    const o = await env.caller("viewer").overview.get();
    expect(o.gateways).toEqual({
      alive: 1,
      total: 1,
      lastHeartbeatAt: TEST_NOW - 500,
      silentForMs: null,
    });
    expect(o.upstreams.find((u) => u.id === "payments")).toMatchObject({
      state: "closed",
      reportedAt: null,
      rps: 0,
      errorRate: null,
      p99: null,
    });
  });

  it("reports the last minute's figures when there is traffic", async () => {
    writeSnapshot(env.store, paymentsSnapshot("gw-1", TEST_NOW - 500, "closed"));
    const seconds = [];
    for (let s = 1; s <= 60; s++) seconds.push(paymentsSecond(TEST_NOW - s * 1000, 10, 0));
    writeSliBuckets(env.store, seconds);
    const p = (await env.caller("viewer").overview.get()).upstreams.find(
      (u) => u.id === "payments",
    )!;
    expect(p.rps).toBeCloseTo(10, 5);
    expect(p.errorRate).toBe(0);
    expect(p.p99).toBeGreaterThan(0);
  });
});

describe("overview.get before any instance reported", () => {
  it("has no heartbeat and no figures", async () => {
    const o = await env.caller("viewer").overview.get();
    expect(o.gateways).toEqual({ alive: 0, total: 0, lastHeartbeatAt: null, silentForMs: null });
    expect(o.upstreams.every((u) => u.rps === null && u.state === "unknown")).toBe(true);
  });
});
