/** Procedures against a real SQLite store: what they return and what they write. */
import {
  emptyCounts,
  LATENCY_CELLS,
  latencyCell,
  type BreakerSnapshot,
  type InstanceSnapshot,
  type SliBucket,
} from "@rg/core";
import {
  appendEvents,
  currentRevision,
  queryEvents,
  updateIncidentsFromEvents,
  writeSliBuckets,
  writeSnapshot,
} from "@rg/db";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { codeOf, createTestEnv, TEST_NOW, type TestEnv } from "../testing/harness";
import type { ConfigIssuesError } from "./trpc";

let env: TestEnv;
beforeEach(async () => {
  env = await createTestEnv();
});
afterEach(() => env.close());

async function issuesOf(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (e) {
    const cause = (e as { cause?: ConfigIssuesError }).cause;
    expect((e as { code?: string }).code).toBe("BAD_REQUEST");
    return (cause?.issues ?? []).map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error("expected a refusal");
}

function breaker(over: Partial<BreakerSnapshot>): BreakerSnapshot {
  return {
    name: "payments",
    upstream: "payments",
    state: "closed",
    since: TEST_NOW - 60_000,
    trips: 0,
    window: {
      calls: 50,
      failures: 0,
      slowCalls: 0,
      failureRate: 0,
      slowCallRate: 0,
      consecutiveFailures: 0,
    },
    thresholds: {
      failureRateThreshold: 50,
      slowCallRateThreshold: 100,
      slowCallDurationMs: 2000,
      consecutiveFailures: 0,
      minimumCalls: 10,
      window: { type: "count", size: 100 },
    },
    ...over,
  };
}

function snapshot(
  instanceId: string,
  at: number,
  revision: number,
  b: BreakerSnapshot,
): InstanceSnapshot {
  return {
    instanceId,
    pid: 1,
    startedAt: at - 600_000,
    at,
    revision,
    mode: "normal",
    upstreams: {
      payments: {
        breakers: [b],
        bulkhead: { inFlight: 2, queued: 1, maxConcurrent: 100, maxQueue: 50, rejected: 3 },
        endpoints: [
          {
            id: "a",
            url: "http://127.0.0.1:4101",
            healthy: true,
            ejected: false,
            ejections: 0,
            weight: 100,
            effectiveWeight: 100,
            inFlight: 1,
          },
        ],
        retryBudget: { active: 5, retrying: 1, exhausted: 0 },
      },
    },
    routes: {},
    inFlight: 2,
    telemetry: { queued: 0, written: 10, dropped: { queue_full: 2, store_error: 1 } },
  };
}

function bucket(
  start: number,
  route: string,
  upstream: string,
  ok: number,
  failed: number,
): SliBucket {
  const counts = emptyCounts();
  counts.success = ok;
  counts.http_5xx = failed;
  const latency = new Array<number>(LATENCY_CELLS).fill(0);
  latency[latencyCell(40)] = ok + failed;
  return {
    start,
    route,
    upstream,
    counts,
    rejected: 0,
    retries: 0,
    fallbacks: 0,
    slow: 0,
    latency,
  };
}

describe("overview.get", () => {
  it("reports the worst breaker across live instances with its reason, rates and budgets", async () => {
    const reason = { trigger: "failure_rate" as const, observed: 62, threshold: 50, calls: 50 };
    writeSnapshot(env.store, snapshot("gw-1", TEST_NOW - 1000, 1, breaker({ state: "closed" })));
    writeSnapshot(
      env.store,
      snapshot(
        "gw-2",
        TEST_NOW - 500,
        1,
        breaker({ state: "open", reason, since: TEST_NOW - 30_000 }),
      ),
    );
    // A dead instance (old heartbeat) does not count.
    writeSnapshot(
      env.store,
      snapshot("gw-old", TEST_NOW - 60_000, 0, breaker({ state: "forced_open" })),
    );
    // Last minute on payments: 60 s × (60 ok + 40 failed) = 100 req/s, 40 % errors.
    const buckets: SliBucket[] = [];
    for (let s = 1; s <= 60; s++)
      buckets.push(bucket(TEST_NOW - s * 1000, "payments", "payments", 60, 40));
    writeSliBuckets(env.store, buckets);

    const o = await env.caller("viewer").overview.get();
    expect(o.gatewayMode).toBe("normal");
    const payments = o.upstreams.find((u) => u.id === "payments")!;
    expect(payments.state).toBe("open");
    expect(payments.reason).toEqual(reason);
    expect(payments.since).toBe(TEST_NOW - 30_000);
    expect(payments.rps).toBeCloseTo(100, 5);
    expect(payments.errorRate).toBeCloseTo(0.4, 5);
    expect(payments.p99).toBeGreaterThan(30);
    expect(payments.p99).toBeLessThanOrEqual(40);
    expect(payments.sparkline).toHaveLength(30);
    expect(payments.sparkline.at(-1)!.rps).toBeCloseTo(100, 5);
    expect(o.upstreams.find((u) => u.id === "catalog")!.state).toBe("unknown");

    const route = o.routes.find((r) => r.id === "payments")!;
    // 40 % errors against a 99 % target: burn rate 40 on both windows, budget overspent.
    expect(route.burnRate1h).toBeCloseTo(40, 5);
    expect(route.burnRate5m).toBeCloseTo(40, 5);
    expect(route.budgetRemaining).toBeLessThan(0);
    expect(payments.budgetRemaining).toBe(route.budgetRemaining);
    expect(o.routes.find((r) => r.id === "catalog")).toMatchObject({
      criticality: "non_critical",
      burnRate1h: 0,
      budgetRemaining: 1,
    });

    const byId = Object.fromEntries(o.instances.map((i) => [i.instanceId, i]));
    expect(byId["gw-2"]).toMatchObject({
      alive: true,
      heartbeatAgeMs: 500,
      revision: 1,
      dropped: 3,
      store: null,
      websocketTunnels: null,
    });
    expect(byId["gw-old"]?.alive).toBe(false);
  });

  it("says how each instance writes to the store, and why when it fell back or fails", async () => {
    const withTelemetry = (id: string, telemetry: Partial<InstanceSnapshot["telemetry"]>) => {
      const s = snapshot(id, TEST_NOW - 500, 1, breaker({ state: "closed" }));
      writeSnapshot(env.store, { ...s, telemetry: { ...s.telemetry, ...telemetry } });
    };
    withTelemetry("gw-thread", { healthy: true, mode: "thread" });
    withTelemetry("gw-fallback", {
      healthy: true,
      mode: "in_thread",
      threadError: "writer thread exited with code 3",
    });
    withTelemetry("gw-failing", {
      healthy: false,
      mode: "thread",
      lastError: "SQLITE_FULL: database or disk is full",
    });
    const o = await env.caller("viewer").overview.get();
    const byId = Object.fromEntries(o.instances.map((i) => [i.instanceId, i.store]));
    expect(byId).toEqual({
      "gw-thread": { healthy: true, mode: "thread", error: null },
      "gw-fallback": {
        healthy: true,
        mode: "in_thread",
        error: "writer thread exited with code 3",
      },
      "gw-failing": {
        healthy: false,
        mode: "thread",
        error: "SQLITE_FULL: database or disk is full",
      },
    });
  });

  it("reports each instance's open WebSockets, null when it does not say", async () => {
    const s = snapshot("gw-ws", TEST_NOW - 500, 1, breaker({ state: "closed" }));
    writeSnapshot(env.store, { ...s, websocketTunnels: 42 });
    writeSnapshot(env.store, snapshot("gw-old-ws", TEST_NOW - 500, 1, breaker({})));
    const o = await env.caller("viewer").overview.get();
    const byId = Object.fromEntries(o.instances.map((i) => [i.instanceId, i.websocketTunnels]));
    expect(byId).toMatchObject({ "gw-ws": 42, "gw-old-ws": null });
  });

  it("sums each route's open WebSockets over live instances, null where the route has none", async () => {
    const routes = {
      catalog: { mode: "normal" as const, rateLimitFactor: 1, websocketTunnels: 3 },
    };
    for (const [id, at] of [
      ["gw-a", TEST_NOW - 500],
      ["gw-b", TEST_NOW - 800],
      ["gw-dead", TEST_NOW - 600_000],
    ] as const) {
      writeSnapshot(env.store, { ...snapshot(id, at, 1, breaker({})), routes });
    }
    const o = await env.caller("viewer").overview.get();
    const byId = Object.fromEntries(o.routes.map((r) => [r.id, r.websockets]));
    expect(byId).toEqual({ payments: null, catalog: 6 });
  });
});

describe("without a stored config", () => {
  it("the overview says so and config-dependent procedures refuse with a clear reason", async () => {
    const bare = await createTestEnv({ config: null });
    try {
      const o = await bare.caller("viewer").overview.get();
      expect(o.configIssues).toEqual(["no bootstrap config stored"]);
      expect(o.upstreams).toEqual([]);
      expect(
        await codeOf(
          bare
            .caller("operator")
            .controls.forceBreaker({ upstream: "payments", state: "forced_open", reason: "x" }),
        ),
      ).toBe("PRECONDITION_FAILED");
      expect(await codeOf(bare.caller("viewer").runbooks.list())).toBe("PRECONDITION_FAILED");
    } finally {
      bare.close();
    }
  });
});

describe("controls", () => {
  it("setValue applies a valid change, audited with actor, role, reason and request id", async () => {
    const before = currentRevision(env.store);
    const r = await env.caller("operator").controls.setValue({
      path: "routes.payments.retry.maxAttempts",
      value: 2,
      reason: "too many retries",
    });
    expect(r.ok).toBe(true);
    expect(r.revision).toBeGreaterThan(before);
    const cfg = await env.caller("viewer").config.get();
    expect(cfg.config?.routes.payments?.retry.maxAttempts).toBe(2);
    const audit = await env
      .caller("viewer")
      .audit.list({ target: "routes.payments.retry.maxAttempts" });
    expect(audit.rows[0]).toMatchObject({
      actor: "operator@example.test",
      role: "operator",
      requestId: "req-operator",
      reason: "too many retries",
      before: 3,
      after: 2,
      outcome: "applied",
    });
  });

  it("setValue refuses an invalid value with path: reason issues and applies nothing", async () => {
    const before = currentRevision(env.store);
    const issues = await issuesOf(
      env.caller("operator").controls.setValue({
        path: "upstreams.payments.circuitBreaker.failureRateThreshold",
        value: 150,
        reason: "oops",
      }),
    );
    expect(issues).toEqual([
      expect.stringMatching(/^upstreams\.payments\.circuitBreaker\.failureRateThreshold: /),
    ]);
    expect(currentRevision(env.store)).toBe(before);
    const cfg = await env.caller("viewer").config.get();
    expect(cfg.config?.upstreams.payments?.circuitBreaker.failureRateThreshold).toBe(50);
  });

  it("setValue refuses paths that are not operator-changeable", async () => {
    const issues = await issuesOf(
      env.caller("operator").controls.setValue({
        path: "upstreams.payments.endpoints.a.url",
        value: "http://169.254.169.254",
        reason: "x",
      }),
    );
    expect(issues).toEqual(["upstreams.payments.endpoints.a.url: cannot be changed at run time"]);
  });

  it("requires a non-blank reason", async () => {
    expect(
      await codeOf(
        env
          .caller("operator")
          .controls.setMode({ scope: "gateway", mode: "read_only", reason: "   " }),
      ),
    ).toBe("BAD_REQUEST");
  });

  it("forceBreaker, setMode with expiry, shiftTraffic and setFaultInjection write the config", async () => {
    const op = env.caller("operator");
    await op.controls.forceBreaker({ upstream: "payments", state: "forced_open", reason: "drain" });
    await op.controls.setMode({
      scope: "route",
      target: "catalog",
      mode: "degraded",
      reason: "shed",
      ttlMs: 60_000,
    });
    await op.controls.shiftTraffic({
      route: "catalog",
      to: "catalog-backup",
      percent: 25,
      durationMs: 30_000,
      reason: "move",
    });
    await op.controls.setFaultInjection({
      route: "catalog",
      delayPercent: 10,
      delayMs: 200,
      abortPercent: 5,
      abortStatus: 503,
      reason: "game day",
    });
    const cfg = (await env.caller("viewer").config.get()).config!;
    expect(cfg.upstreams.payments?.circuitBreaker.forcedState).toBe("forced_open");
    expect(cfg.routes.catalog?.mode).toBe("degraded");
    expect(cfg.routes.catalog?.shift).toEqual({
      to: "catalog-backup",
      percent: 25,
      durationMs: 30_000,
    });
    expect(cfg.routes.catalog?.faultInjection).toEqual({
      delayPercent: 10,
      delayMs: 200,
      abortPercent: 5,
      abortStatus: 503,
    });
    const modeOverride = (await env.caller("viewer").config.get()).overrides.find(
      (o) => o.path === "routes.catalog.mode",
    );
    expect(modeOverride?.expiresAt).toBe(TEST_NOW + 60_000);
  });

  it("setMode refuses an unknown route; shiftTraffic refuses an unknown upstream", async () => {
    const op = env.caller("operator");
    expect(
      await issuesOf(
        op.controls.setMode({ scope: "route", target: "nope", mode: "degraded", reason: "x" }),
      ),
    ).toEqual(["routes.nope: unknown route"]);
    const issues = await issuesOf(
      op.controls.shiftTraffic({
        route: "catalog",
        to: "nowhere",
        percent: 10,
        durationMs: 0,
        reason: "x",
      }),
    );
    expect(issues.join()).toMatch(/routes\.catalog\.shift\.to: unknown upstream 'nowhere'/);
  });

  it("shiftWeights sets every weight and the ramp, or nothing when an endpoint is unknown", async () => {
    const op = env.caller("operator");
    const before = currentRevision(env.store);
    expect(
      await issuesOf(
        op.controls.shiftWeights({
          upstream: "payments",
          weights: { a: 0, zz: 10 },
          durationMs: 5000,
          reason: "x",
        }),
      ),
    ).toEqual(["upstreams.payments.endpoints.zz: unknown endpoint"]);
    expect(currentRevision(env.store)).toBe(before);

    await op.controls.shiftWeights({
      upstream: "payments",
      weights: { a: 0, b: 200 },
      durationMs: 5000,
      reason: "drain a",
    });
    const cfg = (await env.caller("viewer").config.get()).config!;
    expect(cfg.upstreams.payments?.weightShiftMs).toBe(5000);
    expect(cfg.upstreams.payments?.endpoints.a?.weight).toBe(0);
    expect(cfg.upstreams.payments?.endpoints.b?.weight).toBe(200);
  });

  it("clearOverride restores the bootstrap value", async () => {
    const op = env.caller("operator");
    await op.controls.setValue({
      path: "routes.payments.timeouts.perTryMs",
      value: 900,
      reason: "tighten",
    });
    await op.controls.clearOverride({
      path: "routes.payments.timeouts.perTryMs",
      reason: "revert",
    });
    const cfg = (await env.caller("viewer").config.get()).config!;
    expect(cfg.routes.payments?.timeouts.perTryMs).toBe(5000);
  });

  it("applied reports which live instances serve a revision", async () => {
    const r = await env
      .caller("operator")
      .controls.setMode({ scope: "gateway", mode: "degraded", reason: "x" });
    writeSnapshot(env.store, snapshot("gw-1", TEST_NOW - 100, r.revision, breaker({})));
    writeSnapshot(env.store, snapshot("gw-2", TEST_NOW - 100, r.revision - 1, breaker({})));
    const a = await env.caller("viewer").controls.applied({ revision: r.revision });
    expect(a.desired).toBe(r.revision);
    expect(a.allApplied).toBe(false);
    expect(Object.fromEntries(a.instances.map((i) => [i.instanceId, i.applied]))).toEqual({
      "gw-1": true,
      "gw-2": false,
    });
  });
});

describe("config.preview", () => {
  it("validates without writing", async () => {
    const before = currentRevision(env.store);
    const good = await env
      .caller("viewer")
      .config.preview({ path: "routes.payments.retry.maxAttempts", value: 5 });
    expect(good).toMatchObject({ ok: true, before: 3, after: 5, issues: [] });
    const bad = await env
      .caller("viewer")
      .config.preview({ path: "routes.payments.retry.maxAttempts", value: 0 });
    expect(bad.ok).toBe(false);
    expect(bad.issues[0]?.path).toBe("routes.payments.retry.maxAttempts");
    expect(currentRevision(env.store)).toBe(before);
  });
});

describe("runbooks", () => {
  it("lists runbooks and previews each step's before → after without writing", async () => {
    const list = await env.caller("viewer").runbooks.list();
    expect(list.fallback).toBeNull();
    expect(list.runbooks.map((r) => r.id).sort()).toEqual(["broken", "payments-degrade"]);
    const before = currentRevision(env.store);
    const p = await env.caller("viewer").runbooks.preview({ id: "payments-degrade" });
    expect(p.ok).toBe(true);
    expect(p.steps.map((s) => s.changes)).toEqual([
      [
        {
          path: "upstreams.payments.circuitBreaker.forcedState",
          before: "none",
          after: "forced_open",
        },
      ],
      [
        {
          path: "routes.catalog.shift",
          before: undefined,
          after: { to: "catalog-backup", percent: 50, durationMs: 0 },
        },
      ],
      [{ path: "routes.payments.mode", before: "normal", after: "degraded" }],
    ]);
    expect(currentRevision(env.store)).toBe(before);
    const broken = await env.caller("viewer").runbooks.preview({ id: "broken" });
    expect(broken.ok).toBe(false);
    expect(broken.steps[1]?.issues[0]).toMatch(/^routes\.payments\.retry\.maxAttempts: /);
  });

  it("runs the steps in order, recording statuses, events and the resulting config", async () => {
    let t = TEST_NOW;
    const ticking = () => (t += 10);
    const r = await env
      .caller("operator", { now: ticking })
      .runbooks.run({ id: "payments-degrade", reason: "payments failing" });
    expect(r.status).toBe("done");
    expect(r.steps.map((s) => s.status)).toEqual(["done", "done", "done"]);
    const cfg = (await env.caller("viewer").config.get()).config!;
    expect(cfg.upstreams.payments?.circuitBreaker.forcedState).toBe("forced_open");
    expect(cfg.routes.payments?.mode).toBe("degraded");

    const runs = await env.caller("viewer").runbooks.runs({ id: "payments-degrade" });
    expect(runs[0]).toMatchObject({ id: r.runId, status: "done", actor: "operator@example.test" });
    expect(runs[0]?.steps.map((s) => s.status)).toEqual(["done", "done", "done"]);

    const events = queryEvents(env.store, { types: ["runbook.step"] }).reverse();
    // Each record carries the time it was made, so timelines show the steps in order.
    const ats = events.map((e) => e.at);
    expect(new Set(ats).size).toBe(ats.length);
    expect([...ats].sort((a, b) => a - b)).toEqual(ats);
    expect(events.map((e) => (e.event as { status: string; step: number }).status)).toEqual([
      "running",
      "done",
      "running",
      "done",
      "running",
      "done",
    ]);
  });

  it("stops at the first failing step and leaves the later ones unrun", async () => {
    const r = await env.caller("operator").runbooks.run({ id: "broken", reason: "test" });
    expect(r.status).toBe("failed");
    expect(r.steps.map((s) => s.status)).toEqual(["done", "failed"]);
    expect(r.steps[1]?.detail).toMatch(/maxAttempts/);
    const cfg = (await env.caller("viewer").config.get()).config!;
    expect(cfg.gateway.mode).toBe("degraded");
    const runs = await env.caller("viewer").runbooks.runs();
    expect(runs[0]?.status).toBe("failed");
  });
});

describe("incidents", () => {
  it("lists, shows a timeline, and lets operators acknowledge, annotate and resolve", async () => {
    const at = TEST_NOW - 10_000;
    const opened = {
      type: "breaker.transition" as const,
      at,
      upstream: "payments",
      from: "closed" as const,
      to: "open" as const,
      reason: { trigger: "failure_rate" as const, observed: 62, threshold: 50 },
    };
    appendEvents(env.store, "gw-1", [opened]);
    const [id] = updateIncidentsFromEvents(env.store, [opened], at);
    expect(id).toBeDefined();

    const list = await env.caller("viewer").incidents.list({ status: "open" });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      id,
      scopeKind: "upstream",
      scopeId: "payments",
      durationMs: 10_000,
    });

    const op = env.caller("operator");
    await op.incidents.acknowledge({ id: id! });
    await op.incidents.annotate({ id: id!, body: "failing over to b" });
    await op.incidents.resolve({ id: id!, summary: "endpoint a restarted" });

    const got = await env.caller("viewer").incidents.get({ id: id! });
    expect(got.incident).toMatchObject({
      status: "resolved",
      acknowledgedBy: "operator@example.test",
      summary: "endpoint a restarted",
    });
    expect(got.scope).toEqual({ kind: "upstream", id: "payments" });
    const kinds = got.timeline.map((t) => t.kind);
    expect(kinds).toContain("event");
    expect(kinds).toContain("note");
    const ats = got.timeline.map((t) => t.at);
    expect([...ats].sort((a, b) => a - b)).toEqual(ats);
    expect(await codeOf(op.incidents.resolve({ id: id!, summary: "again" }))).toBe("BAD_REQUEST");
    expect(await codeOf(env.caller("viewer").incidents.get({ id: 999 }))).toBe("NOT_FOUND");
  });
});

describe("audit", () => {
  it("pages newest first and offers filters", async () => {
    const op = env.caller("operator");
    for (let i = 1; i <= 5; i++) {
      await op.controls.setValue({
        path: "routes.payments.retry.maxAttempts",
        value: (i % 3) + 1,
        reason: `r${i}`,
      });
    }
    const first = await env.caller("viewer").audit.list({ action: "config.set", limit: 3 });
    expect(first.rows.map((r) => r.reason)).toEqual(["r5", "r4", "r3"]);
    expect(first.nextCursor).not.toBeNull();
    const second = await env
      .caller("viewer")
      .audit.list({ action: "config.set", limit: 3, cursor: first.nextCursor! });
    expect(second.rows.map((r) => r.reason)).toEqual(["r2", "r1"]);
    const f = await env.caller("viewer").audit.filters();
    expect(f.actors).toContain("operator@example.test");
    expect(f.actions).toContain("config.set");
    expect(f.targets).toContain("routes.payments.retry.maxAttempts");
  });
});

describe("users", () => {
  it("admins list, create, change roles of and remove users, audited; never the last admin", async () => {
    const admin = env.caller("admin");
    const created = await admin.users.create({
      email: "New.Person@Example.test",
      name: "New Person",
      password: "a-long-password",
      role: "operator",
    });
    expect(
      await codeOf(
        admin.users.create({
          email: "new.person@example.test",
          name: "x",
          password: "a-long-password",
          role: "viewer",
        }),
      ),
    ).toBe("CONFLICT");
    let users = await admin.users.list();
    expect(users.find((u) => u.id === created.userId)).toMatchObject({
      email: "new.person@example.test",
      role: "operator",
    });
    expect(JSON.stringify(users)).not.toMatch(/password/i);

    await admin.users.setRole({ userId: created.userId, role: "viewer" });
    users = await admin.users.list();
    expect(users.find((u) => u.id === created.userId)?.role).toBe("viewer");

    await admin.users.remove({ userId: created.userId });
    users = await admin.users.list();
    expect(users.some((u) => u.id === created.userId)).toBe(false);

    expect(await codeOf(admin.users.remove({ userId: env.users.admin.id }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.users.setRole({ userId: env.users.admin.id, role: "viewer" }))).toBe(
      "BAD_REQUEST",
    );

    const actions = (
      await env.caller("viewer").audit.list({ actor: "admin@example.test" })
    ).rows.map((r) => r.action);
    expect(actions).toEqual(["user.remove", "user.set_role", "user.create"]);
  });
});
