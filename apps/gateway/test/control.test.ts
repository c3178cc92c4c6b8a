/**
 * Control plane and telemetry against a real SQLite store: operator overrides take effect
 * within a second, events and live state reach the store, a broken store never stops traffic.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigInput, ResilienceEvent } from "@rg/core";
import {
  clearOverride,
  openStore,
  queryEvents,
  readInstances,
  setOverride,
  type Store,
} from "@rg/db";
import { startDemoUpstream, type DemoUpstream } from "../src/demo-upstream";
import type { Gateway } from "../src/gateway";
import {
  gatewayFor,
  raw,
  request,
  startUpstream,
  statusOf,
  trackUncaught,
  uncaught,
  until,
} from "./harness";

trackUncaught();

let dir: string;
let demo: DemoUpstream;
let gw: Gateway;
let operator: Store;
let config: ConfigInput;
const events: ResilienceEvent[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rg-gw-control-"));
  demo = await startDemoUpstream({ services: { api: { ports: [0] }, checked: { ports: [0, 0] } } });
  const api = `http://127.0.0.1:${demo.services.api!.ports[0]}`;
  const [c1, c2] = demo.services.checked!.ports;
  config = {
    upstreams: {
      api: { endpoints: { a: { url: api } } },
      checked: {
        endpoints: { a: { url: `http://127.0.0.1:${c1}` }, b: { url: `http://127.0.0.1:${c2}` } },
        healthCheck: {
          enabled: true,
          intervalMs: 100,
          unhealthyIntervalMs: 100,
          timeoutMs: 200,
          rise: 1,
          fall: 2,
        },
      },
    },
    routes: {
      api: { match: { pathPrefix: "/api" }, upstream: "api" },
      checked: { match: { pathPrefix: "/checked" }, upstream: "checked" },
    },
  };
  gw = await gatewayFor(config, { storePath: join(dir, "gateway.db"), instanceId: "gw-test" });
  gw.bus.on((e) => events.push(e));
  // The dashboard's connection to the same file.
  operator = openStore(join(dir, "gateway.db"));
});

afterAll(async () => {
  await gw?.close();
  operator?.close();
  await demo?.close();
  rmSync(dir, { recursive: true, force: true });
  expect(uncaught).toMatchObject({ exceptions: 0, rejections: 0 });
});

describe("operator overrides", () => {
  it("a revision written to the store takes effect within 1 s", async () => {
    expect((await request(`${gw.url}/api/x`, { method: "POST", body: "{}" })).status).toBe(200);
    const r = setOverride(operator, {
      path: "routes.api.mode",
      value: "read_only",
      actor: "alice",
      role: "operator",
      reason: "payments incident",
    });
    expect(r.ok).toBe(true);
    const written = Date.now();
    await until(
      async () => (await request(`${gw.url}/api/x`, { method: "POST", body: "{}" })).status === 503,
      1000,
      20,
    );
    expect(Date.now() - written).toBeLessThan(1000);
    expect(gw.revision()).toBe(r.ok ? r.revision : -1);
    expect((await request(`${gw.url}/api/x`)).status).toBe(200);
    expect(events.some((e) => e.type === "config.applied")).toBe(true);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: "mode.changed",
        scope: "route",
        target: "api",
        from: "normal",
        to: "read_only",
      }),
    );
    // Events reach the store through the writer.
    await until(() => queryEvents(operator, { types: ["mode.changed"] }).length > 0, 2000);
  });

  it("an override that expires is dropped and the gateway returns to the bootstrap value", async () => {
    setOverride(operator, {
      path: "routes.api.mode",
      value: "degraded",
      actor: "alice",
      role: "operator",
      reason: "short test",
      ttlMs: 300,
    });
    await until(() => gw.config().routes.api!.mode === "degraded", 1000);
    await until(() => gw.config().routes.api!.mode === "normal", 3000);
  });

  it("moving an endpoint lets the requests in flight to the old address finish there", async () => {
    const held: (() => void)[] = [];
    const old = await startUpstream((_req, res) => held.push(() => res.end("old")));
    const moved = await startUpstream((_req, res) => res.end("new"));
    const d = mkdtempSync(join(tmpdir(), "rg-gw-move-"));
    const path = join(d, "gateway.db");
    const g = await gatewayFor(
      {
        upstreams: { m: { endpoints: { a: { url: old.url } } } },
        routes: { m: { match: { pathPrefix: "/m" }, upstream: "m" } },
      },
      { storePath: path },
    );
    const op = openStore(path);
    try {
      const inflight = request(`${g.url}/m/slow`);
      await until(() => held.length === 1, 2000, 5);
      const r = setOverride(op, {
        path: "upstreams.m.endpoints.a.url",
        value: moved.url,
        actor: "alice",
        role: "operator",
        reason: "fail over to the standby",
      });
      expect(r.ok).toBe(true);
      await until(() => g.revision() === (r.ok ? r.revision : -1), 2000);
      expect(await request(`${g.url}/m/next`)).toMatchObject({ status: 200, body: "new" });
      // The request that was already on its way is answered by the old address, not cut
      // off (and not retried elsewhere).
      held[0]!();
      expect(await inflight).toMatchObject({ status: 200, body: "old" });
      expect(old.requests).toHaveLength(1);
      // Once its last request is done, the old address's pool is closed.
      await until(() => old.sockets.size === 0, 2000);
    } finally {
      op.close();
      await g.close();
      await old.close();
      await moved.close();
      rmSync(d, { recursive: true, force: true });
    }
  });

  it("a lowered headers timeout applies to the running listener", async () => {
    const r = setOverride(operator, {
      path: "gateway.limits.headersTimeoutMs",
      value: 400,
      actor: "alice",
      role: "operator",
      reason: "slowloris wave",
    });
    expect(r.ok).toBe(true);
    try {
      await until(() => gw.revision() === (r.ok ? r.revision : -1), 2000);
      // Headers that never finish: closed with 408 well before the 10 s the gateway started with.
      const slow = await raw(gw.port, "GET /api/x HTTP/1.1\r\nHost: a\r\nX-Slow: 1", 5000);
      expect(slow.closed).toBe(true);
      expect(statusOf(slow.text)).toBe(408);
      expect(slow.ms).toBeLessThan(3000);
    } finally {
      clearOverride(operator, {
        path: "gateway.limits.headersTimeoutMs",
        actor: "alice",
        role: "operator",
        reason: "wave over",
      });
    }
  });

  it("writes the live snapshot with the served revision", async () => {
    gw.tick();
    await until(() => {
      const me = readInstances(operator).find((i) => i.instanceId === "gw-test");
      return me !== undefined && me.snapshot.revision === gw.revision();
    }, 3000);
  });
});

describe("active health checks", () => {
  it("marks an endpoint unhealthy after `fall` failed probes and healthy again after `rise`", async () => {
    const [p1] = demo.services.checked!.ports;
    await demo.setBehaviour("checked", { down: true }, p1);
    const ep = () => gw.runtime.snapshot().upstreams.checked!.endpoints.find((e) => e.id === "a")!;
    await until(() => !ep().healthy, 3000);
    expect(events).toContainEqual(
      expect.objectContaining({ type: "health.changed", endpoint: "a", healthy: false }),
    );
    // Traffic keeps flowing through the other endpoint.
    for (let i = 0; i < 5; i++) expect((await request(`${gw.url}/checked/x`)).status).toBe(200);
    await demo.setBehaviour("checked", { down: false }, p1);
    await until(() => ep().healthy, 3000);
  });

  it("a revision whose health-check path would leave the endpoint is refused whole, and probing goes on", async () => {
    const revision = gw.revision();
    const served = gw.config();
    // The store refuses it: a URL parser reads `\\` as `/`, which names another host.
    const r = setOverride(operator, {
      path: "upstreams.checked.healthCheck.path",
      value: "/\\other.test/health",
      actor: "alice",
      role: "operator",
      reason: "typo",
    });
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.issues.map((i) => i.path)).toEqual(["upstreams.checked.healthCheck.path"]);
    // A config that bypassed the schema is refused by the gateway before it changes anything.
    const bad = structuredClone(served);
    bad.upstreams.checked!.healthCheck.path = "/\\";
    bad.routes.api!.mode = "read_only";
    expect(() => gw.applyConfig(bad, revision + 1)).toThrow(
      /upstreams\.checked\.healthCheck\.path/,
    );
    expect(gw.revision()).toBe(revision);
    expect(gw.config()).toBe(served);
    expect((await request(`${gw.url}/api/x`, { method: "POST", body: "{}" })).status).toBe(200);
    // The previous config's probes still run: an endpoint going down and back up is seen.
    const [p1] = demo.services.checked!.ports;
    const ep = () => gw.runtime.snapshot().upstreams.checked!.endpoints.find((e) => e.id === "a")!;
    await demo.setBehaviour("checked", { down: true }, p1);
    await until(() => !ep().healthy, 3000);
    await demo.setBehaviour("checked", { down: false }, p1);
    await until(() => ep().healthy, 3000);
  });

  it("reports an upstream whose endpoints are all unhealthy", async () => {
    await demo.setBehaviour("checked", { down: true });
    await until(
      () => {
        gw.tick();
        return events.some((e) => e.type === "upstream.unavailable" && e.upstream === "checked");
      },
      3000,
      100,
    );
    await demo.setBehaviour("checked", {});
  });
});

describe("admin", () => {
  it("serves liveness, readiness, metrics and state", async () => {
    const a = gw.adminUrl;
    expect((await request(`${a}/healthz`)).status).toBe(200);
    const ready = await request(`${a}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await request(`${a}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(
      /rg_requests_total\{route="api",upstream="api",result="success"\} \d+/,
    );
    expect(metrics.body).toContain("rg_rejections_total");
    const state = JSON.parse((await request(`${a}/state`)).body) as {
      instanceId: string;
      revision: number;
    };
    expect(state.instanceId).toBe("gw-test");
  });
});

describe("store failures and shutdown", () => {
  it("keeps serving when the store breaks, counting dropped telemetry (in-thread writer)", async () => {
    const store = openStore(join(dir, "broken.db"));
    const g = await gatewayFor(config, { store, instanceId: "gw-broken", writerThread: false });
    try {
      expect((await request(`${g.url}/api/x`)).status).toBe(200);
      // Every write now fails (SQLITE_READONLY), as with a broken disk.
      store.sqlite.pragma("query_only = ON");
      for (let i = 0; i < 20; i++) expect((await request(`${g.url}/api/x`)).status).toBe(200);
      // The flushes fail: the writer drops and counts instead of throwing.
      await until(
        () => {
          g.tick();
          const d = g.snapshot().telemetry.dropped;
          return Object.values(d).some((n) => n > 0);
        },
        4000,
        200,
      );
      expect((await request(`${g.url}/api/x`)).status).toBe(200);
    } finally {
      await g.close();
    }
  });

  it("keeps serving while its writer thread cannot write, counting dropped telemetry", async () => {
    // The writer thread waits for a lock at most the store's busy timeout, here 100 ms.
    const store = openStore(join(dir, "locked.db"), { busyTimeoutMs: 100 });
    const g = await gatewayFor(config, { store, instanceId: "gw-locked" });
    const other = openStore(join(dir, "locked.db"));
    try {
      expect((await request(`${g.url}/api/x`)).status).toBe(200);
      // Writes run in-thread until the writer thread has started.
      await until(() => g.snapshot().telemetry.mode === "thread", 20_000, 20);
      // Another process holds the write lock for as long as this test runs.
      other.sqlite.exec("BEGIN IMMEDIATE");
      for (let i = 0; i < 20; i++) expect((await request(`${g.url}/api/x`)).status).toBe(200);
      await until(
        () => {
          g.tick();
          // This second's SLI buckets could not be written: dropped and counted.
          return (g.snapshot().telemetry.dropped.sli ?? 0) > 0;
        },
        4000,
        200,
      );
      expect(g.snapshot().telemetry).toMatchObject({
        mode: "thread",
        healthy: false,
        lastError: expect.stringMatching(/SQLITE_BUSY/),
      });
      // Operators see it on /metrics too.
      g.tick();
      expect((await request(`${g.adminUrl}/metrics`)).body).toContain(
        'rg_store_writer_healthy{mode="thread"} 0',
      );
      expect((await request(`${g.url}/api/x`)).status).toBe(200);
    } finally {
      if (other.sqlite.inTransaction) other.sqlite.exec("ROLLBACK");
      other.close();
      await g.close();
    }
  });

  it("drains in-flight requests on close and refuses new connections", async () => {
    const g = await gatewayFor(config);
    await demo.setBehaviour("api", { latencyMs: 300 });
    try {
      const inflight = request(`${g.url}/api/slow`);
      await until(() => g.inFlight() === 1, 2000, 5);
      const closing = g.close();
      const r = await inflight;
      expect(r.status).toBe(200);
      await closing;
      await expect(request(`${g.url}/api/x`)).rejects.toThrow();
    } finally {
      await demo.setBehaviour("api", {});
      await g.close();
    }
  });

  it("tells each client answered during the drain to close its connection", async () => {
    const g = await gatewayFor(config);
    await demo.setBehaviour("api", { latencyMs: 300 });
    try {
      // A keep-alive request in flight when the shutdown starts: its answer must say close,
      // or the client would send its next request on a connection about to be closed.
      const answer = raw(g.port, "GET /api/slow HTTP/1.1\r\nHost: a\r\n\r\n", 5000);
      await until(() => g.inFlight() === 1, 2000, 5);
      const closing = g.close();
      const r = await answer;
      expect(statusOf(r.text)).toBe(200);
      expect(r.text).toMatch(/\r\nconnection: close\r\n/i);
      expect(r.closed).toBe(true);
      await closing;
    } finally {
      await demo.setBehaviour("api", {});
      await g.close();
    }
  });
});
