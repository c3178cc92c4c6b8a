import { ConfigError } from "@rg/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  clearOverride,
  currentRevision,
  dataVersion,
  effectiveConfig,
  expireOverrides,
  listOverrides,
  nextExpiryAt,
  queryAudit,
  readModes,
  seedBootstrapConfig,
  setMode,
  setOverride,
} from "../src/index";
import { bootstrapInput, tempStore, type TempStore } from "./helpers";

let t: TempStore;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

const actor = { actor: "alice", role: "operator" };

describe("opening", () => {
  it("migrates an empty file, creating its folder, in WAL mode with the revision row", () => {
    const names = (
      t.store.sqlite
        .prepare("SELECT name FROM sqlite_master WHERE type IN ('table','trigger') ORDER BY name")
        .pluck()
        .all() as string[]
    ).filter((n) => !n.startsWith("sqlite_"));
    for (const n of [
      "audit",
      "audit_no_delete",
      "audit_no_update",
      "config_bootstrap",
      "control_state",
      "event_chunks",
      "incidents",
      "incident_notes",
      "instances",
      "overrides",
      "runbook_runs",
      "runbook_steps",
      "sli_minutes",
      "sli_seconds",
      "user",
      "session",
      "account",
      "verification",
    ])
      expect(names).toContain(n);
    expect(t.store.sqlite.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(t.store.sqlite.pragma("foreign_keys", { simple: true })).toBe(1);
    expect(t.store.sqlite.pragma("busy_timeout", { simple: true })).toBe(5000);
    expect(currentRevision(t.store)).toBe(0);
  });

  it("reopens an existing file without re-applying migrations", () => {
    seedBootstrapConfig(t.store, bootstrapInput(), "test.yaml");
    const again = t.reopen();
    expect(currentRevision(again)).toBe(1);
  });

  it("data_version changes when another connection writes", () => {
    const other = t.reopen();
    const v0 = dataVersion(t.store);
    seedBootstrapConfig(other, bootstrapInput(), "test.yaml");
    expect(dataVersion(t.store)).not.toBe(v0);
  });
});

describe("bootstrap config", () => {
  it("stores the raw input and raises the revision only when it changed", () => {
    expect(seedBootstrapConfig(t.store, bootstrapInput(), "a.yaml").revision).toBe(1);
    expect(seedBootstrapConfig(t.store, bootstrapInput(), "a.yaml")).toEqual({
      revision: 1,
      changed: false,
    });
    const changed = bootstrapInput();
    (changed.gateway as Record<string, unknown>).mode = "degraded";
    expect(seedBootstrapConfig(t.store, changed, "a.yaml").revision).toBe(2);
    const eff = effectiveConfig(t.store);
    expect("config" in eff && eff.config.gateway.mode).toBe("degraded");
  });

  it("throws a ConfigError listing every path: reason and stores nothing", () => {
    const bad = bootstrapInput();
    (bad.routes as Record<string, Record<string, unknown>>).payments!.upstream = "nope";
    (bad.gateway as Record<string, unknown>).mode = "sideways";
    let err: unknown;
    try {
      seedBootstrapConfig(t.store, bad, "bad.yaml");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const paths = (err as ConfigError).issues.map((i) => i.path);
    expect(paths).toContain("gateway.mode");
    expect(currentRevision(t.store)).toBe(0);
    expect("issues" in effectiveConfig(t.store)).toBe(true);
  });
});

describe("overrides", () => {
  beforeEach(() => {
    seedBootstrapConfig(t.store, bootstrapInput(), "test.yaml");
  });

  it("applies an override over the bootstrap and audits before/after", () => {
    const r = setOverride(t.store, {
      path: "routes.payments.retry.maxAttempts",
      value: 5,
      ...actor,
      reason: "flaky upstream",
      requestId: "req-1",
    });
    expect(r).toEqual({ ok: true, revision: 2, before: 3, after: 5 });
    const eff = effectiveConfig(t.store);
    if (!("config" in eff)) throw new Error("expected a config");
    expect(eff.revision).toBe(2);
    expect(eff.config.routes.payments!.retry.maxAttempts).toBe(5);
    expect(eff.overrides.map((o) => o.path)).toEqual(["routes.payments.retry.maxAttempts"]);
    const a = queryAudit(t.store, { action: "override.set" }).rows;
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({
      actor: "alice",
      role: "operator",
      target: "routes.payments.retry.maxAttempts",
      before: 3,
      after: 5,
      reason: "flaky upstream",
      requestId: "req-1",
      outcome: "applied",
    });
  });

  it("refuses an invalid value: no override, no revision change, a refused audit row", () => {
    const before = t.store.sqlite.prepare("SELECT count(*) FROM overrides").pluck().get();
    const r = setOverride(t.store, {
      path: "routes.payments.retry.maxAttempts",
      value: 99,
      ...actor,
      reason: "too many",
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0]!.path).toBe("routes.payments.retry.maxAttempts");
    expect(currentRevision(t.store)).toBe(1);
    expect(t.store.sqlite.prepare("SELECT count(*) FROM overrides").pluck().get()).toBe(before);
    const eff = effectiveConfig(t.store);
    expect("config" in eff && eff.config.routes.payments!.retry.maxAttempts).toBe(3);
    const audit = queryAudit(t.store, { target: "routes.payments.retry.maxAttempts" }).rows;
    expect(audit.map((a) => a.outcome)).toEqual(["refused"]);
  });

  it("refuses a setting the running gateway cannot take on, naming it; allows the rest", () => {
    const port = setOverride(t.store, {
      path: "gateway.listen.port",
      value: 8181,
      ...actor,
      reason: "move the listener",
    });
    expect(port.ok).toBe(false);
    if (port.ok) return;
    expect(port.issues).toEqual([
      {
        path: "gateway.listen.port",
        message: expect.stringMatching(/fixed when the gateway starts .*restart/),
      },
    ]);
    // Through a parent object too: the header limit is the parser's, fixed at start.
    const limits = setOverride(t.store, {
      path: "gateway.limits",
      value: { maxHeaderBytes: 4096 },
      ...actor,
      reason: "tighter limits",
    });
    expect(limits.ok).toBe(false);
    if (limits.ok) return;
    expect(limits.issues.map((i) => i.path)).toEqual(["gateway.limits.maxHeaderBytes"]);
    expect(currentRevision(t.store)).toBe(1);
    expect(
      queryAudit(t.store, {})
        .rows.filter((a) => a.outcome === "refused")
        .map((a) => a.target)
        .sort(),
    ).toEqual(["gateway.limits", "gateway.listen.port"]);
    // Runtime settings beside them are applied, and so is a value the gateway already has.
    for (const [path, value] of [
      ["gateway.limits.keepAliveTimeoutMs", 7000],
      ["gateway.limits.headersTimeoutMs", 5000],
      ["gateway.listen.port", 8080],
    ] as const) {
      const r = setOverride(t.store, { path, value, ...actor, reason: "tune" });
      expect(r.ok, path).toBe(true);
    }
  });

  it("rolls the whole change back when the audit insert fails", () => {
    t.store.sqlite.exec(
      "CREATE TEMP TRIGGER audit_fails BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END",
    );
    expect(() =>
      setOverride(t.store, { path: "gateway.mode", value: "degraded", ...actor, reason: "x" }),
    ).toThrow(/audit unavailable/);
    expect(currentRevision(t.store)).toBe(1);
    expect(listOverrides(t.store, { includeExpired: true })).toEqual([]);
    expect(readModes(t.store).gateway).toBe("normal");
  });

  it("refuses a missing reason and a malformed path without touching the store", () => {
    const r1 = setOverride(t.store, {
      path: "gateway.mode",
      value: "degraded",
      ...actor,
      reason: " ",
    });
    const r2 = setOverride(t.store, {
      path: "gateway..mode",
      value: "degraded",
      ...actor,
      reason: "x",
    });
    expect(r1.ok || r2.ok).toBe(false);
    expect(currentRevision(t.store)).toBe(1);
    expect(queryAudit(t.store, { action: "override.set" }).rows).toHaveLength(0);
  });

  it("a new value at the same path supersedes the old one", () => {
    setOverride(t.store, { path: "gateway.mode", value: "degraded", ...actor, reason: "a" });
    const r = setOverride(t.store, {
      path: "gateway.mode",
      value: "read_only",
      ...actor,
      reason: "b",
    });
    expect(r).toMatchObject({ ok: true, before: "degraded", after: "read_only" });
    expect(listOverrides(t.store).map((o) => o.value)).toEqual(["read_only"]);
    expect(listOverrides(t.store, { includeExpired: true }).map((o) => o.endReason)).toEqual([
      null,
      "superseded",
    ]);
  });

  it("a value at a parent path supersedes the overrides below it, not those beside it", () => {
    const set = (path: string, value: unknown) =>
      expect(setOverride(t.store, { path, value, ...actor, reason: "r" }).ok).toBe(true);
    set("upstreams.payments.circuitBreaker.failureRateThreshold", 40);
    set("upstreams.payments.circuitBreaker.forcedState", "forced_open");
    set("upstreams.payments_eu", {
      endpoints: { a: { url: "http://127.0.0.1:4102" } },
    });
    set("upstreams.search.circuitBreaker.failureRateThreshold", 30);
    set("upstreams.payments.circuitBreaker", { failureRateThreshold: 60 });
    expect(listOverrides(t.store).map((o) => o.path)).toEqual([
      "upstreams.payments_eu",
      "upstreams.search.circuitBreaker.failureRateThreshold",
      "upstreams.payments.circuitBreaker",
    ]);
    const ended = listOverrides(t.store, { includeExpired: true }).filter((o) => o.endReason);
    expect(ended.map((o) => [o.path, o.endReason])).toEqual(
      expect.arrayContaining([
        ["upstreams.payments.circuitBreaker.failureRateThreshold", "superseded"],
        ["upstreams.payments.circuitBreaker.forcedState", "superseded"],
      ]),
    );
    const cfg = effectiveConfig(t.store);
    expect("config" in cfg && cfg.config.upstreams.payments!.circuitBreaker).toMatchObject({
      failureRateThreshold: 60,
      forcedState: "none",
    });
    // A field set after its parent still applies on top of it.
    set("upstreams.payments.circuitBreaker.forcedState", "forced_open");
    expect(listOverrides(t.store)).toHaveLength(4);
  });

  it("clears an override back to the bootstrap value", () => {
    setOverride(t.store, { path: "gateway.mode", value: "degraded", ...actor, reason: "a" });
    const r = clearOverride(t.store, { path: "gateway.mode", ...actor, reason: "recovered" });
    expect(r).toEqual({ ok: true, revision: 3, before: "degraded", after: "normal" });
    expect(readModes(t.store).gateway).toBe("normal");
    expect(clearOverride(t.store, { path: "gateway.mode", ...actor, reason: "again" }).ok).toBe(
      false,
    );
    expect(currentRevision(t.store)).toBe(3);
  });

  it("modes are overrides; an unknown route is refused", () => {
    expect(
      setMode(t.store, {
        scope: "route",
        target: "search",
        mode: "read_only",
        ...actor,
        reason: "x",
      }),
    ).toMatchObject({ ok: true, before: "normal", after: "read_only" });
    expect(
      setMode(t.store, { scope: "route", target: "ghost", mode: "degraded", ...actor, reason: "x" })
        .ok,
    ).toBe(false);
    // An id named like an Object.prototype member is no route either.
    expect(
      setMode(t.store, {
        scope: "route",
        target: "toString",
        mode: "degraded",
        ...actor,
        reason: "x",
      }),
    ).toEqual({ ok: false, issues: [{ path: "target", message: "unknown route 'toString'" }] });
    setMode(t.store, { scope: "gateway", mode: "degraded", ...actor, reason: "x" });
    expect(readModes(t.store)).toEqual({
      gateway: "degraded",
      routes: { payments: "normal", search: "read_only" },
    });
    expect(queryAudit(t.store, { action: "mode.set" }).rows).toHaveLength(2);
  });

  it("expired overrides drop out, and expireOverrides raises the revision once", () => {
    const now = 1_000_000;
    setOverride(t.store, {
      path: "gateway.mode",
      value: "degraded",
      ...actor,
      reason: "maintenance",
      ttlMs: 60_000,
      now,
    });
    setOverride(t.store, {
      path: "routes.search.mode",
      value: "read_only",
      ...actor,
      reason: "longer",
      ttlMs: 120_000,
      now,
    });
    expect(readModes(t.store, now + 59_999).gateway).toBe("degraded");
    expect(nextExpiryAt(t.store, now)).toBe(now + 60_000);
    const eff = effectiveConfig(t.store, now + 60_000);
    expect("config" in eff && eff.config.gateway.mode).toBe("normal");
    expect(expireOverrides(t.store, now + 59_000)).toEqual({ expired: 0, revision: 3 });
    expect(expireOverrides(t.store, now + 60_000)).toEqual({ expired: 1, revision: 4 });
    expect(expireOverrides(t.store, now + 61_000)).toEqual({ expired: 0, revision: 4 });
    expect(nextExpiryAt(t.store, now + 61_000)).toBe(now + 120_000);
    expect(listOverrides(t.store, { now: now + 61_000 }).map((o) => o.path)).toEqual([
      "routes.search.mode",
    ]);
    expect(queryAudit(t.store, { action: "override.expired" }).rows[0]).toMatchObject({
      actor: "system",
      target: "gateway.mode",
    });
  });

  it("writes several overrides in one transaction as one revision, validated together", () => {
    // The fallback alone is the route's own upstream and refused; with the new upstream it is not.
    const r = setOverride(t.store, {
      changes: [
        { path: "routes.search.upstream", value: "payments", action: "reroute" },
        { path: "routes.search.fallback", value: { upstream: "search" }, action: "reroute" },
      ],
      ...actor,
      reason: "search backend failing",
      ttlMs: 60_000,
      now: 1000,
    });
    expect(r).toEqual({
      ok: true,
      revision: 2,
      changes: [
        { path: "routes.search.upstream", before: "search", after: "payments" },
        {
          path: "routes.search.fallback",
          before: undefined,
          after: expect.objectContaining({ upstream: "search" }),
        },
      ],
    });
    expect(currentRevision(t.store)).toBe(2);
    expect(
      listOverrides(t.store, { now: 1000 }).map((o) => [o.path, o.revision, o.expiresAt]),
    ).toEqual([
      ["routes.search.upstream", 2, 61_000],
      ["routes.search.fallback", 2, 61_000],
    ]);
    expect(
      queryAudit(t.store, { action: "reroute" }).rows.map((a) => [a.target, a.outcome]),
    ).toEqual([
      ["routes.search.fallback", "applied"],
      ["routes.search.upstream", "applied"],
    ]);
  });

  it("writes none of several overrides when one is invalid, audited as refused each", () => {
    const r = setOverride(t.store, {
      changes: [
        { path: "routes.search.mode", value: "degraded" },
        { path: "routes.search.retry.maxAttempts", value: 99 },
      ],
      ...actor,
      reason: "x",
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path)).toEqual(["routes.search.retry.maxAttempts"]);
    expect(currentRevision(t.store)).toBe(1);
    expect(listOverrides(t.store, { includeExpired: true })).toEqual([]);
    expect(queryAudit(t.store, { action: "override.set" }).rows.map((a) => a.outcome)).toEqual([
      "refused",
      "refused",
    ]);
    // The same path twice is no one change.
    const twice = setOverride(t.store, {
      changes: [
        { path: "gateway.mode", value: "degraded" },
        { path: "gateway.mode", value: "read_only" },
      ],
      ...actor,
      reason: "x",
    });
    expect(twice).toEqual({
      ok: false,
      issues: [{ path: "gateway.mode", message: "changed twice in one change" }],
    });
  });

  it("rolls every one of several overrides back when an audit insert fails midway", () => {
    t.store.sqlite.exec(
      "CREATE TEMP TRIGGER audit_fails BEFORE INSERT ON audit WHEN NEW.target = 'routes.search.mode' BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END",
    );
    expect(() =>
      setOverride(t.store, {
        changes: [
          { path: "routes.payments.mode", value: "degraded" },
          { path: "routes.search.mode", value: "degraded" },
        ],
        ...actor,
        reason: "x",
      }),
    ).toThrow(/audit unavailable/);
    expect(currentRevision(t.store)).toBe(1);
    expect(listOverrides(t.store, { includeExpired: true })).toEqual([]);
    expect(readModes(t.store).routes).toEqual({ payments: "normal", search: "normal" });
  });

  it("an override whose time to live elapsed unswept is ended as expired by the next change, not superseded", () => {
    const now = 1_000_000;
    setOverride(t.store, {
      path: "gateway.mode",
      value: "degraded",
      ...actor,
      reason: "maintenance",
      ttlMs: 60_000,
      now,
    });
    const r = setOverride(t.store, {
      path: "gateway.mode",
      value: "read_only",
      actor: "bob",
      role: "operator",
      reason: "incident",
      now: now + 120_000,
    });
    expect(r).toEqual({ ok: true, revision: 3, before: "normal", after: "read_only" });
    expect(
      listOverrides(t.store, { includeExpired: true }).map((o) => [
        o.value,
        o.endReason,
        o.endedBy,
        o.endedAt,
      ]),
    ).toEqual([
      ["read_only", null, null, null],
      ["degraded", "expired", "system", now + 60_000],
    ]);
    expect(queryAudit(t.store, { action: "override.expired" }).rows).toEqual([
      expect.objectContaining({ actor: "system", target: "gateway.mode", before: "degraded" }),
    ]);
    expect(expireOverrides(t.store, now + 130_000)).toEqual({ expired: 0, revision: 3 });
  });

  it("an elapsed override is ended as expired, and the revision raised, even when the change is refused", () => {
    const now = 1_000_000;
    setOverride(t.store, {
      path: "routes.search.mode",
      value: "degraded",
      ...actor,
      reason: "shed",
      ttlMs: 60_000,
      now,
    });
    const refused = setOverride(t.store, {
      path: "routes.search.retry.maxAttempts",
      value: 99,
      ...actor,
      reason: "x",
      now: now + 120_000,
    });
    expect(refused.ok).toBe(false);
    expect(currentRevision(t.store)).toBe(3);
    expect(listOverrides(t.store, { includeExpired: true }).map((o) => o.endReason)).toEqual([
      "expired",
    ]);
    expect(queryAudit(t.store, { action: "override.expired" }).rows).toHaveLength(1);
  });

  it("refuses a change made from a revision after which an override at, above or below its path was set", () => {
    // Later than the bootstrap's real clock, so times rise with revisions.
    const now = 4_000_000_000_000;
    const bob = { actor: "bob", role: "operator", reason: "tune", now };
    const forced = setOverride(t.store, {
      path: "upstreams.payments.circuitBreaker.forcedState",
      value: "forced_open",
      ...actor,
      reason: "drain",
      now,
    });
    expect(forced).toMatchObject({ ok: true, revision: 2 });
    // Bob's page shows revision 1. A field beside the forced state is no conflict.
    const beside = setOverride(t.store, {
      path: "upstreams.payments.circuitBreaker.minimumCalls",
      value: 25,
      baseRevision: 1,
      ...bob,
    });
    expect(beside).toMatchObject({ ok: true, revision: 3 });
    // The whole breaker object (above it) and the forced state itself are.
    for (const [path, value] of [
      ["upstreams.payments.circuitBreaker", { minimumCalls: 30 }],
      ["upstreams.payments.circuitBreaker.forcedState", "none"],
    ] as const) {
      const r = setOverride(t.store, { path, value, baseRevision: 1, ...bob });
      expect(r, path).toEqual({
        ok: false,
        conflict: true,
        issues: [
          {
            path,
            message: expect.stringMatching(
              /^changed since revision 1, which this change was made from \(.*upstreams\.payments\.circuitBreaker\.forcedState set by alice at revision 2.*\): reload and try again$/,
            ),
          },
        ],
      });
    }
    expect(currentRevision(t.store)).toBe(3);
    expect(
      queryAudit(t.store, { actor: "bob" }).rows.map((a) => [a.target, a.before, a.outcome]),
    ).toEqual([
      ["upstreams.payments.circuitBreaker.forcedState", "forced_open", "refused"],
      [
        "upstreams.payments.circuitBreaker",
        expect.objectContaining({ minimumCalls: 25 }),
        "refused",
      ],
      ["upstreams.payments.circuitBreaker.minimumCalls", 20, "applied"],
    ]);
    // Several changes: one conflict refuses them all.
    const several = setOverride(t.store, {
      changes: [
        { path: "routes.payments.mode", value: "degraded" },
        { path: "upstreams.payments.circuitBreaker.forcedState", value: "none" },
      ],
      baseRevision: 1,
      ...bob,
    });
    expect(several).toMatchObject({
      ok: false,
      conflict: true,
      issues: [{ path: "upstreams.payments.circuitBreaker.forcedState" }],
    });
    expect(readModes(t.store).routes.payments).toBe("normal");
    // Made from the current revision, the same change goes through.
    expect(
      setOverride(t.store, {
        path: "upstreams.payments.circuitBreaker.forcedState",
        value: "none",
        baseRevision: 3,
        ...bob,
      }),
    ).toMatchObject({ ok: true, revision: 4, before: "forced_open", after: "none" });
    // A revision that does not exist yet is refused, as no conflict.
    expect(
      setOverride(t.store, { path: "gateway.mode", value: "degraded", baseRevision: 9, ...bob }),
    ).toEqual({
      ok: false,
      issues: [{ path: "baseRevision", message: "is ahead of the current revision 4" }],
    });
  });

  it("refuses a change made from a revision after which an override at its path was cleared", () => {
    const now = 4_000_000_000_000;
    const path = "routes.search.retry.maxAttempts";
    setOverride(t.store, { path, value: 5, ...actor, reason: "a", now });
    // Bob's page shows revision 2 (maxAttempts 5); alice then clears it.
    clearOverride(t.store, { path, ...actor, reason: "recovered", now: now + 1000 });
    const stale = setOverride(t.store, {
      path,
      value: 4,
      actor: "bob",
      role: "operator",
      reason: "one fewer",
      baseRevision: 2,
      now: now + 2000,
    });
    expect(stale).toMatchObject({
      ok: false,
      conflict: true,
      issues: [{ path, message: expect.stringContaining(`(${path} cleared by alice)`) }],
    });
    const eff = effectiveConfig(t.store, now + 2000);
    expect("config" in eff && eff.config.routes.search!.retry.maxAttempts).toBe(3);
    // The cleared state as Bob sees it after reloading: no conflict, also after a later change.
    setOverride(t.store, {
      path: "routes.payments.mode",
      value: "degraded",
      ...actor,
      reason: "x",
      now: now + 3000,
    });
    expect(
      setOverride(t.store, {
        path,
        value: 4,
        actor: "bob",
        role: "operator",
        reason: "one fewer",
        baseRevision: 4,
        now: now + 4000,
      }),
    ).toMatchObject({ ok: true, revision: 5 });
  });

  it("an override that the bootstrap later invalidates is reported, not applied", () => {
    setOverride(t.store, {
      path: "routes.search.upstream",
      value: "payments",
      ...actor,
      reason: "reroute",
    });
    const next = bootstrapInput();
    delete (next.upstreams as Record<string, unknown>).payments;
    delete (next.routes as Record<string, unknown>).payments;
    seedBootstrapConfig(t.store, next, "test.yaml");
    const eff = effectiveConfig(t.store);
    expect("issues" in eff && eff.issues.map((i) => i.path)).toEqual(["routes.search.upstream"]);
  });
});
