import type { InstanceSnapshot, ResilienceEvent } from "@rg/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  acknowledgeIncident,
  annotateIncident,
  appendEvents,
  closeQuietIncidents,
  getIncident,
  incidentTimeline,
  listIncidents,
  queryAudit,
  readCircuitStates,
  resolveIncident,
  seedBootstrapConfig,
  setMode,
  updateIncidentsFromEvents,
  writeSnapshot,
} from "../src/index";
import { bootstrapInput, sloBurn, tempStore, type TempStore } from "./helpers";

let t: TempStore;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

const T = 1_700_000_000_000;
const MIN = 60_000;

const breakerOpen = (at: number): ResilienceEvent => ({
  type: "breaker.transition",
  at,
  upstream: "payments",
  from: "closed",
  to: "open",
  reason: { trigger: "failure_rate", observed: 60, threshold: 50, calls: 20 },
});
const breakerClosed = (at: number): ResilienceEvent => ({
  type: "breaker.transition",
  at,
  upstream: "payments",
  from: "half_open",
  to: "closed",
  reason: { trigger: "probes_succeeded" },
});
const rejected = (at: number): ResilienceEvent => ({
  type: "breaker.rejected",
  at,
  route: "payments",
  upstream: "payments",
  state: "open",
  retryAfterMs: 1000,
});

function snapshot(at: number, state: "open" | "closed"): InstanceSnapshot {
  return {
    instanceId: "gw-1",
    pid: 1,
    startedAt: T - MIN,
    at,
    revision: 1,
    mode: "normal",
    routes: {},
    inFlight: 0,
    telemetry: { queued: 0, written: 0, dropped: {} },
    upstreams: {
      payments: {
        breakers: [
          {
            name: "payments",
            upstream: "payments",
            state,
            since: at,
            trips: 1,
            window: {
              calls: 20,
              failures: 12,
              slowCalls: 0,
              failureRate: 60,
              slowCallRate: 0,
              consecutiveFailures: 3,
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
        bulkhead: { inFlight: 0, queued: 0, maxConcurrent: 10, maxQueue: 0, rejected: 0 },
        endpoints: [],
        retryBudget: { active: 0, retrying: 0, exhausted: 0 },
      },
    },
  };
}

describe("incidents", () => {
  it("opens on a breaker-open event flushed by the writer, and extends instead of duplicating", () => {
    const w = t.writer({ instanceId: "gw-1" });
    w.enqueueEvent(breakerOpen(T));
    w.enqueueEvent(rejected(T + 1000));
    w.flushNow();
    const [inc] = listIncidents(t.store);
    expect(inc).toMatchObject({
      scopeKind: "upstream",
      scopeId: "payments",
      status: "open",
      openedAt: T,
      lastActivityAt: T + 1000,
      trigger: "breaker_open:failure_rate",
    });
    w.enqueueEvent(breakerOpen(T + 10_000));
    w.flushNow();
    expect(listIncidents(t.store)).toHaveLength(1);
    expect(getIncident(t.store, inc!.id)!.lastActivityAt).toBe(T + 10_000);
    // Unrelated events do not count as activity.
    appendEvents(t.store, "gw-1", [
      { ...rejected(T + 20_000), route: "search", upstream: "search" },
    ]);
    updateIncidentsFromEvents(
      t.store,
      [{ ...rejected(T + 20_000), route: "search", upstream: "search" }],
      T + 20_000,
    );
    expect(getIncident(t.store, inc!.id)!.lastActivityAt).toBe(T + 10_000);
  });

  it("opens on SLO burn, all endpoints down and an operator switching to degraded", () => {
    updateIncidentsFromEvents(
      t.store,
      [
        {
          type: "slo.burn",
          at: T,
          route: "search",
          longBurnRate: 15,
          shortBurnRate: 20,
          threshold: 14.4,
          budgetRemaining: 0.5,
        },
        { type: "upstream.unavailable", at: T, upstream: "search", healthy: 0, total: 2 },
        {
          type: "mode.changed",
          at: T,
          scope: "gateway",
          target: "gateway",
          from: "normal",
          to: "read_only",
        },
        {
          type: "mode.changed",
          at: T,
          scope: "route",
          target: "x",
          from: "degraded",
          to: "normal",
        },
      ],
      T,
    );
    expect(
      listIncidents(t.store)
        .map((i) => `${i.scopeKind}:${i.scopeId}:${i.trigger}`)
        .sort(),
    ).toEqual([
      "gateway:gateway:mode_read_only",
      "route:search:slo_burn",
      "upstream:search:upstream_unavailable",
    ]);
  });

  it("closes after the quiet period only once the breaker is closed", () => {
    const w = t.writer({ instanceId: "gw-1" });
    w.enqueueEvent(breakerOpen(T));
    w.setSnapshot(snapshot(T, "open"));
    w.flushNow();
    const id = listIncidents(t.store)[0]!.id;
    // Quiet for 5 minutes but the breaker is still open on a live instance: stays open.
    writeSnapshot(t.store, snapshot(T + 5 * MIN + 1000, "open"));
    expect(readCircuitStates(t.store, T + 5 * MIN + 1000)[0]!.state).toBe("open");
    expect(closeQuietIncidents(t.store, { now: T + 5 * MIN + 1000 })).toEqual([]);
    // The breaker closes (an event: activity), then 5 quiet minutes pass.
    w.enqueueEvent(breakerClosed(T + 6 * MIN));
    w.setSnapshot(snapshot(T + 6 * MIN, "closed"));
    w.flushNow();
    writeSnapshot(t.store, snapshot(T + 10 * MIN, "closed"));
    expect(closeQuietIncidents(t.store, { now: T + 10 * MIN })).toEqual([]);
    writeSnapshot(t.store, snapshot(T + 11 * MIN, "closed"));
    expect(closeQuietIncidents(t.store, { now: T + 11 * MIN })).toEqual([id]);
    expect(getIncident(t.store, id)).toMatchObject({
      status: "resolved",
      resolvedBy: "system",
      resolvedAt: T + 11 * MIN,
    });
    // A new breaker-open opens a new incident.
    w.enqueueEvent(breakerOpen(T + 12 * MIN));
    w.flushNow();
    expect(listIncidents(t.store).map((i) => i.status)).toEqual(["open", "resolved"]);
  });

  it("does not close an incident that got activity from another connection just before", () => {
    const dashboard = t.reopen();
    const [id] = updateIncidentsFromEvents(t.store, [sloBurn("r", T)], T);
    const now = T + 6 * MIN;
    // An operator's note commits on another connection right before the write transaction.
    const sqlite = t.store.sqlite;
    const transaction = sqlite.transaction.bind(sqlite);
    sqlite.transaction = ((fn) => {
      sqlite.transaction = transaction;
      expect(
        annotateIncident(dashboard, { id: id!, author: "alice", body: "looking", now }),
      ).toMatchObject({ ok: true });
      return transaction(fn);
    }) as typeof sqlite.transaction;
    expect(closeQuietIncidents(t.store, { now })).toEqual([]);
    expect(sqlite.transaction).toBe(transaction);
    expect(getIncident(t.store, id!)).toMatchObject({ status: "open", lastActivityAt: now });
    // Quiet for long enough after the note, it closes.
    expect(closeQuietIncidents(t.store, { now: now + 5 * MIN })).toEqual([id]);
  });

  it("acknowledges an open incident once, refusing an acknowledged or resolved one", () => {
    const [id] = updateIncidentsFromEvents(t.store, [breakerOpen(T)], T);
    const ack = (actor: string, now: number) =>
      acknowledgeIncident(t.store, { id: id!, actor, now });
    expect(ack("alice", T + 1000)).toMatchObject({
      ok: true,
      incident: { status: "acknowledged", acknowledgedBy: "alice", acknowledgedAt: T + 1000 },
    });
    expect(ack("bob", T + 2000)).toEqual({
      ok: false,
      error: "incident is already acknowledged by alice",
    });
    expect(getIncident(t.store, id!)).toMatchObject({
      acknowledgedBy: "alice",
      acknowledgedAt: T + 1000,
    });
    expect(
      queryAudit(t.store, { target: `incident:${id}` }).rows.map((r) => [r.before, r.after]),
    ).toEqual([["open", "acknowledged"]]);
    resolveIncident(t.store, { id: id!, actor: "alice", summary: "fixed", now: T + 3000 });
    expect(ack("bob", T + 4000)).toEqual({ ok: false, error: "incident is resolved" });
  });

  it("timeline: events of the scope, operator actions and notes, in time order", () => {
    seedBootstrapConfig(t.store, bootstrapInput(), "test.yaml", T - 10 * MIN);
    appendEvents(t.store, "gw-1", [rejected(T - 2 * MIN)]); // before the window
    appendEvents(t.store, "gw-1", [rejected(T - 30_000)]); // inside the minute before
    const w = t.writer({ instanceId: "gw-1" });
    w.enqueueEvent(breakerOpen(T));
    w.enqueueEvent(rejected(T + 2000));
    w.flushNow();
    const id = listIncidents(t.store)[0]!.id;
    setMode(t.store, {
      scope: "route",
      target: "payments",
      mode: "degraded",
      actor: "alice",
      role: "operator",
      reason: "shed load",
      now: T + 3000,
    });
    acknowledgeIncident(t.store, { id, actor: "alice", now: T + 4000 });
    annotateIncident(t.store, {
      id,
      author: "bob",
      body: "upstream deploy rolled back",
      now: T + 5000,
    });
    w.enqueueEvent(breakerClosed(T + 6000));
    w.flushNow();
    const r = resolveIncident(t.store, {
      id,
      actor: "alice",
      summary: "bad deploy",
      now: T + 7000,
    });
    expect(r.ok).toBe(true);
    appendEvents(t.store, "gw-1", [rejected(T + 60_000)]); // after resolution
    const items = incidentTimeline(t.store, id);
    const desc = items.map((i) =>
      i.kind === "event"
        ? `${i.at - T} event ${i.event.type}`
        : i.kind === "audit"
          ? `${i.at - T} audit ${i.audit.action}`
          : `${i.at - T} note ${i.body}`,
    );
    expect(desc).toEqual([
      "-30000 event breaker.rejected",
      "0 event breaker.transition",
      "0 event incident.opened",
      "2000 event breaker.rejected",
      "3000 audit mode.set",
      "4000 audit incident.acknowledge",
      "5000 audit incident.note",
      "5000 note upstream deploy rolled back",
      "6000 event breaker.transition",
      "7000 audit incident.resolve",
    ]);
    expect(getIncident(t.store, id)).toMatchObject({
      status: "resolved",
      resolvedBy: "alice",
      summary: "bad deploy",
      acknowledgedBy: "alice",
    });
    expect(queryAudit(t.store, { target: `incident:${id}` }).rows).toHaveLength(3);
    expect(resolveIncident(t.store, { id, actor: "alice", summary: "again" }).ok).toBe(false);
  });

  it("timeline of a gateway incident: gateway event types and its own events, limited in order", () => {
    const w = t.writer({ instanceId: "gw-1" });
    w.enqueueEvent({ type: "config.applied", at: T - 30_000, revision: 2 });
    w.enqueueEvent({
      type: "mode.changed",
      at: T,
      scope: "gateway",
      target: "gateway",
      from: "normal",
      to: "read_only",
    });
    w.enqueueEvent(breakerOpen(T + 1000)); // opens an upstream incident: not in this timeline
    w.enqueueEvent({ type: "config.refused", at: T + 2000, revision: 3, errors: ["x"] });
    w.enqueueEvent(rejected(T + 3000));
    w.flushNow();
    const gateway = listIncidents(t.store).find((i) => i.scopeKind === "gateway")!;
    const events = (limit?: number) =>
      incidentTimeline(t.store, gateway.id, { now: T + 10_000, ...(limit ? { limit } : {}) })
        .filter((i) => i.kind === "event")
        .map((i) => `${i.at - T} ${i.kind === "event" ? i.event.type : ""}`);
    expect(events()).toEqual([
      "-30000 config.applied",
      "0 mode.changed",
      "0 incident.opened",
      "2000 config.refused",
    ]);
    expect(events(3)).toEqual(["-30000 config.applied", "0 mode.changed", "0 incident.opened"]);
  });
});
