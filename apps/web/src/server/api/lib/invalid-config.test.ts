/**
 * A stored config that stops validating (a live override that a redeployed bootstrap file no
 * longer fits): what operators still see, what they may change and what they are told.
 */
import {
  currentRevision,
  effectiveConfig,
  listOverrides,
  queryAudit,
  seedBootstrapConfig,
} from "@rg/db";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { codeOf, createTestEnv, TEST_NOW, testConfig, type TestEnv } from "../../testing/harness";
import type { ConfigIssuesError } from "../trpc";

let env: TestEnv;
beforeEach(async () => {
  env = await createTestEnv();
});
afterEach(() => env.close());

const DRAIN = "upstreams.payments.endpoints.b.weight";
const SHIFT = "routes.catalog.shift";

/** The tRPC code and `path: reason` lines of a refused call. */
async function refusal(p: Promise<unknown>): Promise<{ code: string; issues: string[] }> {
  try {
    await p;
  } catch (e) {
    const cause = (e as { cause?: ConfigIssuesError }).cause;
    return {
      code: (e as { code: string }).code,
      issues: (cause?.issues ?? []).map((i) => `${i.path}: ${i.message}`),
    };
  }
  throw new Error("expected a refusal");
}

/** Drain endpoint b, then redeploy the file without it: the drain override no longer fits. */
async function decommissionB(): Promise<void> {
  await env.caller("operator", { now: () => TEST_NOW - 60_000 }).controls.shiftWeights({
    upstream: "payments",
    weights: { b: 0 },
    durationMs: 0,
    reason: "drain b",
  });
  const next = structuredClone(testConfig) as {
    upstreams: { payments: { endpoints: Record<string, unknown> } };
  };
  delete next.upstreams.payments.endpoints.b;
  seedBootstrapConfig(env.store, next, "test.yaml", TEST_NOW - 30_000);
  expect("issues" in effectiveConfig(env.store, TEST_NOW)).toBe(true);
}

/** Shift catalog to its backup, then redeploy the file without the backup upstream. */
async function removeShiftTarget(): Promise<void> {
  await env.caller("operator", { now: () => TEST_NOW - 60_000 }).controls.shiftTraffic({
    route: "catalog",
    to: "catalog-backup",
    percent: 50,
    durationMs: 0,
    reason: "drill",
  });
  const next = structuredClone(testConfig) as Record<
    string,
    Record<string, Record<string, unknown>>
  >;
  delete next.upstreams!["catalog-backup"];
  delete next.routes!.catalog!.fallback;
  delete next.runbooks!["payments-degrade"];
  seedBootstrapConfig(env.store, next, "test.yaml", TEST_NOW - 30_000);
  expect("issues" in effectiveConfig(env.store, TEST_NOW)).toBe(true);
}

const names = (issues: string[], path: string) =>
  issues.some((i) => i.startsWith(`${path}: `) && /no longer validates .*clear it/.test(i));

describe("config.get while the stored config does not validate", () => {
  it("lists the live overrides, names the one to clear with its issues, and the last valid config", async () => {
    await decommissionB();
    const cfg = await env.caller("viewer").config.get();
    expect(cfg.config).toBeNull();
    expect(cfg.issues?.map((i) => i.path)).toEqual(["upstreams.payments.endpoints.b.url"]);
    expect(cfg.overrides.map((o) => o.path)).toContain(DRAIN);
    expect(cfg.invalidOverrides).toEqual([
      { path: DRAIN, issues: [expect.stringMatching(/^upstreams\.payments\.endpoints\.b\.url: /)] },
    ]);
    // The state before the redeploy: the old file with the drain.
    expect(cfg.lastValid).toMatchObject({ until: TEST_NOW - 30_000, source: "history" });
    expect(cfg.lastValid!.config.upstreams.payments!.endpoints.b!.weight).toBe(0);
  });
});

describe("changes while the stored config does not validate", () => {
  it("refuse breaker, mode and weight changes, naming the override to clear; nothing is written", async () => {
    await env
      .caller("operator", { now: () => TEST_NOW - 90_000 })
      .controls.setMode({ scope: "gateway", mode: "degraded", reason: "drill" });
    await decommissionB();
    const op = env.caller("operator");
    const before = currentRevision(env.store);
    const breaker = await refusal(
      op.controls.forceBreaker({ upstream: "payments", state: "forced_open", reason: "outage" }),
    );
    expect(breaker.code).toBe("BAD_REQUEST");
    expect(names(breaker.issues, DRAIN)).toBe(true);
    const gatewayMode = await refusal(
      op.controls.setMode({ scope: "gateway", mode: "degraded", reason: "x" }),
    );
    expect(gatewayMode.code).toBe("BAD_REQUEST");
    expect(names(gatewayMode.issues, DRAIN)).toBe(true);
    const routeMode = await refusal(
      op.controls.setMode({ scope: "route", target: "payments", mode: "degraded", reason: "x" }),
    );
    expect(names(routeMode.issues, DRAIN)).toBe(true);
    const weights = await refusal(
      op.controls.shiftWeights({
        upstream: "payments",
        weights: { a: 50 },
        durationMs: 0,
        reason: "x",
      }),
    );
    expect(names(weights.issues, DRAIN)).toBe(true);
    // Clearing another override does not fix it either: refused as usual, with the cause.
    const other = await refusal(op.controls.clearOverride({ path: "gateway.mode", reason: "x" }));
    expect(other.code).toBe("BAD_REQUEST");
    expect(names(other.issues, DRAIN)).toBe(true);
    expect(queryAudit(env.store, { target: "gateway.mode" }).rows[0]).toMatchObject({
      action: "override.cleared",
      outcome: "refused",
    });
    expect(currentRevision(env.store)).toBe(before);
  });

  it("runbooks: the preview and the run name the override to clear", async () => {
    await decommissionB();
    const preview = await env.caller("viewer").runbooks.preview({ id: "payments-degrade" });
    expect(preview.ok).toBe(false);
    expect(names(preview.steps[0]!.issues, DRAIN)).toBe(true);
    const run = await env.caller("operator").runbooks.run({ id: "payments-degrade", reason: "x" });
    expect(run.status).toBe("failed");
    expect(run.steps[0]!.detail).toMatch(
      /upstreams\.payments\.endpoints\.b\.weight: this live override no longer validates/,
    );
  });

  it("clearing the offending override is allowed and audited: the config validates again", async () => {
    await decommissionB();
    const r = await env
      .caller("operator")
      .controls.clearOverride({ path: DRAIN, reason: "b is gone" });
    expect(r.ok).toBe(true);
    expect("config" in effectiveConfig(env.store, TEST_NOW)).toBe(true);
    expect(queryAudit(env.store, { target: DRAIN }).rows[0]).toMatchObject({
      action: "override.cleared",
      actor: "operator@example.test",
      reason: "b is gone",
      outcome: "applied",
    });
    const cfg = await env.caller("viewer").config.get();
    expect([cfg.issues, cfg.invalidOverrides, cfg.lastValid]).toEqual([null, [], null]);
  });

  it("a change that itself makes the config validate again is previewed as valid and applied", async () => {
    await removeShiftTarget();
    const shift = { to: "payments", percent: 10, durationMs: 0 };
    const preview = await env.caller("viewer").config.preview({ path: SHIFT, value: shift });
    expect(preview).toMatchObject({ ok: true, issues: [] });
    const unfixed = await env
      .caller("viewer")
      .config.preview({ path: "routes.payments.retry.maxAttempts", value: 2 });
    expect(unfixed.ok).toBe(false);
    expect(
      names(
        unfixed.issues.map((i) => `${i.path}: ${i.message}`),
        SHIFT,
      ),
    ).toBe(true);
    const r = await env
      .caller("operator")
      .controls.shiftTraffic({ route: "catalog", ...shift, reason: "backup is gone" });
    expect(r.ok).toBe(true);
    expect("config" in effectiveConfig(env.store, TEST_NOW)).toBe(true);
    expect(
      listOverrides(env.store, { now: TEST_NOW }).find((o) => o.path === SHIFT)?.value,
    ).toEqual(shift);
  });
});

describe("read-only views while the stored config does not validate", () => {
  it("show the last valid config and say so", async () => {
    await removeShiftTarget();
    const viewer = env.caller("viewer");
    const o = await viewer.overview.get();
    expect(o.configIssues).toEqual([expect.stringMatching(/^routes\.catalog\.shift\.to: /)]);
    expect(o.configFallback).toEqual({
      from: TEST_NOW - 60_000,
      until: TEST_NOW - 30_000,
      source: "history",
    });
    expect(o.routes.map((r) => r.id)).toEqual(["payments", "catalog"]);

    const up = await viewer.upstreams.get({ id: "catalog-backup" });
    expect(up.config.endpoints.main!.url).toBe("http://127.0.0.1:4402");
    expect(up.fallback).toMatchObject({ until: TEST_NOW - 30_000, source: "history" });
    expect(up.fallback!.issues.map((i) => i.path)).toEqual(["routes.catalog.shift.to"]);
    const series = await viewer.upstreams.series({
      id: "payments",
      from: TEST_NOW - 60_000,
      to: TEST_NOW,
    });
    expect(series.thresholds?.failureRatePercent).toBe(50);

    const list = await viewer.runbooks.list();
    expect(list.fallback).not.toBeNull();
    expect(list.runbooks.map((r) => r.id).sort()).toEqual(["broken", "payments-degrade"]);
    expect(await codeOf(viewer.runbooks.preview({ id: "payments-degrade" }))).toBe("OK");
  });
});
