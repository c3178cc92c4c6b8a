import type { InstanceSnapshot } from "@rg/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  appendEvents,
  countUsers,
  finishRunbookRun,
  listRunbookRuns,
  queryAudit,
  queryEvents,
  readCircuitStates,
  readInstances,
  runMaintenance,
  startRunbookRun,
  updateIncidentsFromEvents,
  updateRunbookStep,
  writeSliBuckets,
  writeSnapshot,
} from "../src/index";
import { user } from "../src/schema";
import { bucket, sloBurn, tempStore, type TempStore } from "./helpers";

let t: TempStore;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

const T = 1_700_000_000_000;

describe("events", () => {
  it("round-trips events and filters by type, route, upstream and time, newest first", () => {
    appendEvents(t.store, "gw-1", [
      { type: "config.applied", at: T, revision: 3 },
      { type: "deadline.exceeded", at: T + 1, route: "a", budgetMs: 100 },
      {
        type: "outlier.ejected",
        at: T + 2,
        upstream: "u",
        endpoint: "e1",
        reason: "5xx",
        ejectionMs: 1000,
      },
      { type: "deadline.exceeded", at: T + 3, route: "b", budgetMs: 50 },
    ]);
    const all = queryEvents(t.store);
    expect(all.map((e) => e.at - T)).toEqual([3, 2, 1, 0]);
    expect(all[1]!.event).toEqual({
      type: "outlier.ejected",
      at: T + 2,
      upstream: "u",
      endpoint: "e1",
      reason: "5xx",
      ejectionMs: 1000,
    });
    expect(all[3]!.event).toEqual({ type: "config.applied", at: T, revision: 3 });
    expect(queryEvents(t.store, { types: ["deadline.exceeded"] }).map((e) => e.route)).toEqual([
      "b",
      "a",
    ]);
    expect(queryEvents(t.store, { route: "a" })).toHaveLength(1);
    expect(queryEvents(t.store, { upstream: "u" })).toHaveLength(1);
    expect(queryEvents(t.store, { from: T + 1, to: T + 2 })).toHaveLength(2);
    const page = queryEvents(t.store, { limit: 2 });
    const next = queryEvents(t.store, { limit: 2, beforeId: page[1]!.id });
    expect(next.map((e) => e.at - T)).toEqual([1, 0]);
    // An event that arrives late (older time, newer id) lands in its place in time order.
    appendEvents(t.store, "gw-2", [{ type: "config.applied", at: T + 1, revision: 4 }]);
    const pages: number[] = [];
    let before: number | undefined;
    for (;;) {
      const p = queryEvents(t.store, { limit: 2, ...(before ? { beforeId: before } : {}) });
      pages.push(...p.map((e) => e.at - T));
      if (p.length < 2) break;
      before = p[1]!.id;
    }
    expect(pages).toEqual([3, 2, 1, 1, 0]);
  });
});

describe("live state", () => {
  const snap = (id: string, at: number, state: "open" | "closed"): InstanceSnapshot => ({
    instanceId: id,
    pid: 1,
    startedAt: T,
    at,
    revision: 1,
    mode: "normal",
    routes: {},
    inFlight: 0,
    telemetry: { queued: 0, written: 0, dropped: {} },
    upstreams: {
      u: {
        breakers: [
          {
            name: "u",
            upstream: "u",
            state,
            since: at,
            trips: 0,
            window: {
              calls: 0,
              failures: 0,
              slowCalls: 0,
              failureRate: null,
              slowCallRate: null,
              consecutiveFailures: 0,
            },
            thresholds: {
              failureRateThreshold: 50,
              slowCallRateThreshold: 100,
              slowCallDurationMs: 2000,
              consecutiveFailures: 0,
              minimumCalls: 20,
              window: { type: "count", size: 100 },
            },
          },
        ],
        bulkhead: { inFlight: 0, queued: 0, maxConcurrent: 1, maxQueue: 0, rejected: 0 },
        endpoints: [],
        retryBudget: { active: 0, retrying: 0, exhausted: 0 },
      },
    },
  });

  it("upserts one row per instance; only live instances' breakers are listed", () => {
    writeSnapshot(t.store, snap("gw-old", T, "open"));
    writeSnapshot(t.store, snap("gw-1", T + 1000, "open"));
    writeSnapshot(t.store, snap("gw-1", T + 9000, "closed"));
    const inst = readInstances(t.store, T + 10_000);
    expect(inst.map((i) => [i.instanceId, i.ageMs, i.alive])).toEqual([
      ["gw-1", 1000, true],
      ["gw-old", 10_000, false],
    ]);
    const states = readCircuitStates(t.store, T + 10_000);
    expect(states.map((b) => [b.instanceId, b.state])).toEqual([["gw-1", "closed"]]);
  });
});

describe("runbook runs", () => {
  it("records runs with their steps, audited", () => {
    const id = startRunbookRun(t.store, {
      runbook: "shed-load",
      actor: "alice",
      role: "operator",
      reason: "peak",
      now: T,
    });
    updateRunbookStep(t.store, { runId: id, step: 0, status: "running", now: T + 1 });
    updateRunbookStep(t.store, {
      runId: id,
      step: 0,
      status: "done",
      detail: "mode set",
      now: T + 2,
    });
    updateRunbookStep(t.store, {
      runId: id,
      step: 1,
      status: "failed",
      detail: "refused",
      now: T + 3,
    });
    finishRunbookRun(t.store, { runId: id, status: "failed", now: T + 4 });
    finishRunbookRun(t.store, { runId: id, status: "done", now: T + 5 }); // already finished
    const [run] = listRunbookRuns(t.store, { runbook: "shed-load" });
    expect(run).toMatchObject({ id, status: "failed", finishedAt: T + 4, actor: "alice" });
    expect(run!.steps.map((s) => [s.step, s.status, s.detail])).toEqual([
      [0, "done", "mode set"],
      [1, "failed", "refused"],
    ]);
    expect(queryAudit(t.store).rows.map((r) => r.action)).toEqual([
      "runbook.finish",
      "runbook.start",
    ]);
    expect(() =>
      startRunbookRun(t.store, { runbook: "x", actor: "a", role: "operator", reason: "" }),
    ).toThrow(/reason/);
  });
});

describe("users", () => {
  it("counts users", () => {
    expect(countUsers(t.store)).toBe(0);
    t.store.db
      .insert(user)
      .values({ id: "u1", name: "A", email: "a@example.com", role: "admin" })
      .run();
    expect(countUsers(t.store)).toBe(1);
    const row = t.store.db.select().from(user).get();
    expect(row!.createdAt).toBeInstanceOf(Date);
    expect(row!.emailVerified).toBe(false);
    expect(row!.banned).toBe(false);
  });
});

describe("maintenance", () => {
  /** One second of SLI data and an incident opened by an SLO burn, both at T. */
  const secondAndIncident = () => {
    writeSliBuckets(t.store, [bucket(T, "r", "u", { success: 5 })]);
    updateIncidentsFromEvents(t.store, [sloBurn("r", T)], T);
  };

  it("rolls up seconds and resolves quiet incidents, retention only when asked", () => {
    secondAndIncident();
    const r = runMaintenance(t.store, { now: T + 6 * 60_000 });
    expect(r.rolledUpMinutes).toBe(1);
    expect(r.closedIncidents).toHaveLength(1);
    expect(r.retention).toBeUndefined();
    const r2 = runMaintenance(t.store, { now: T + 8 * 3_600_000, retention: true });
    expect(r2.retention).toMatchObject({ sliSeconds: 1 });
  });

  it("still runs retention when closing quiet incidents fails, then reports the failure", () => {
    secondAndIncident();
    const now = T + 8 * 3_600_000;
    // A live instance whose snapshot cannot be read as breakers (an upstream without them).
    writeSnapshot(t.store, {
      instanceId: "odd",
      at: now,
      upstreams: { u: {} },
    } as unknown as Parameters<typeof writeSnapshot>[1]);
    const seconds = () => t.store.sqlite.prepare("SELECT count(*) FROM sli_seconds").pluck().get();
    expect(seconds()).toBe(1);
    expect(() => runMaintenance(t.store, { now, retention: true })).toThrow();
    // The roll-up and retention ran all the same.
    expect(seconds()).toBe(0);
  });
});
