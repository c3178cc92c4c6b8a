/** Control procedures against a real SQLite store: what they refuse and what they write. */
import { currentRevision, listOverrides, queryAudit } from "@rg/db";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { codeOf, createTestEnv, TEST_NOW, type TestEnv } from "../../../testing/harness";
import type { ConfigIssuesError } from "../../trpc";

let env: TestEnv;
beforeEach(async () => {
  env = await createTestEnv();
});
afterEach(() => env.close());

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

describe("ids named like Object.prototype members", () => {
  it("are unknown upstreams, endpoints and routes to every control, and nothing is written", async () => {
    const op = env.caller("operator");
    const before = currentRevision(env.store);
    const shiftWeights = (upstream: string, weights: Record<string, number>) =>
      op.controls.shiftWeights({ upstream, weights, durationMs: 0, reason: "x" });
    expect(await codeOf(shiftWeights("toString", { a: 1 }))).toBe("NOT_FOUND");
    expect(await refusal(shiftWeights("payments", { constructor: 1 }))).toEqual({
      code: "BAD_REQUEST",
      issues: ["upstreams.payments.endpoints.constructor: unknown endpoint"],
    });
    expect(
      await refusal(
        op.controls.setMode({ scope: "route", target: "valueOf", mode: "degraded", reason: "x" }),
      ),
    ).toEqual({ code: "BAD_REQUEST", issues: ["routes.valueOf: unknown route"] });
    for (const to of ["toString", "constructor", "hasOwnProperty"]) {
      const r = await refusal(
        op.controls.shiftTraffic({ route: "catalog", to, percent: 50, durationMs: 0, reason: "x" }),
      );
      expect(r, to).toEqual({
        code: "BAD_REQUEST",
        issues: [`routes.catalog.shift.to: unknown upstream '${to}'`],
      });
    }
    expect(
      await refusal(
        op.controls.setValue({
          path: "routes.catalog.fallback.upstream",
          value: "toString",
          reason: "x",
        }),
      ),
    ).toEqual({
      code: "BAD_REQUEST",
      issues: ["routes.catalog.fallback.upstream: unknown upstream 'toString'"],
    });
    expect(currentRevision(env.store)).toBe(before);
    const applied = queryAudit(env.store, {}).rows.filter(
      (r) => r.outcome === "applied" && r.action !== "config.bootstrap",
    );
    expect(applied).toEqual([]);
  });

  it("are unknown to the read procedures too", async () => {
    const viewer = env.caller("viewer");
    expect(await codeOf(viewer.upstreams.get({ id: "toString" }))).toBe("NOT_FOUND");
    const range = { from: TEST_NOW - 60_000, to: TEST_NOW };
    expect((await viewer.upstreams.series({ id: "constructor", ...range })).thresholds).toBeNull();
    expect(await viewer.routes.series({ id: "valueOf", ...range })).toMatchObject({
      upstream: null,
      slo: null,
    });
  });
});

describe("several changes at once", () => {
  it("shiftWeights writes every weight and the ramp as one revision, or none when a write fails", async () => {
    const op = env.caller("operator");
    const shift = () =>
      op.controls.shiftWeights({
        upstream: "payments",
        weights: { a: 0, b: 200 },
        durationMs: 5000,
        reason: "drain a",
      });
    env.store.sqlite.exec(
      "CREATE TEMP TRIGGER audit_fails BEFORE INSERT ON audit WHEN NEW.target = 'upstreams.payments.endpoints.b.weight' BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END",
    );
    const before = currentRevision(env.store);
    expect(await codeOf(shift())).toBe("INTERNAL_SERVER_ERROR");
    expect(currentRevision(env.store)).toBe(before);
    let u = (await env.caller("viewer").config.get()).config!.upstreams.payments!;
    expect([u.weightShiftMs, u.endpoints.a!.weight, u.endpoints.b!.weight]).toEqual([0, 100, 100]);
    expect(listOverrides(env.store, { includeExpired: true })).toEqual([]);

    env.store.sqlite.exec("DROP TRIGGER audit_fails");
    const r = await shift();
    expect(r.revision).toBe(before + 1);
    u = (await env.caller("viewer").config.get()).config!.upstreams.payments!;
    expect([u.weightShiftMs, u.endpoints.a!.weight, u.endpoints.b!.weight]).toEqual([5000, 0, 200]);
    expect(listOverrides(env.store).map((o) => [o.path, o.revision])).toEqual([
      ["upstreams.payments.weightShiftMs", r.revision],
      ["upstreams.payments.endpoints.a.weight", r.revision],
      ["upstreams.payments.endpoints.b.weight", r.revision],
    ]);
    expect(queryAudit(env.store, { action: "weights.shift" }).rows).toHaveLength(3);
  });
});

describe("changes made from a stale page", () => {
  const breaker = "upstreams.payments.circuitBreaker";

  it("the threshold editor writes only the changed fields: a breaker forced since stays forced", async () => {
    const { revision: stale } = await env.caller("viewer").config.get();
    await env.caller("operator").controls.forceBreaker({
      upstream: "payments",
      state: "forced_open",
      reason: "A: drain payments",
    });
    const r = await env.caller("admin").controls.setFields({
      path: breaker,
      fields: { minimumCalls: 25 },
      baseRevision: stale,
      reason: "B: tune minimum calls",
    });
    expect(r.ok).toBe(true);
    const cfg = await env.caller("viewer").config.get();
    expect(cfg.config!.upstreams.payments!.circuitBreaker).toMatchObject({
      forcedState: "forced_open",
      minimumCalls: 25,
    });
    expect(cfg.overrides.map((o) => [o.path, o.value])).toEqual([
      [`${breaker}.forcedState`, "forced_open"],
      [`${breaker}.minimumCalls`, 25],
    ]);
  });

  it("a forced breaker's time to live survives a threshold change", async () => {
    await env.caller("operator").controls.forceBreaker({
      upstream: "payments",
      state: "forced_open",
      reason: "A: 60 s",
      ttlMs: 60_000,
    });
    const { revision } = await env.caller("viewer").config.get();
    await env.caller("admin").controls.setFields({
      path: breaker,
      fields: { minimumCalls: 25 },
      baseRevision: revision,
      reason: "B: tune",
    });
    const later = await env.caller("viewer", { now: () => TEST_NOW + 3_600_000 }).config.get();
    expect(later.config!.upstreams.payments!.circuitBreaker).toMatchObject({
      forcedState: "none",
      minimumCalls: 25,
    });
  });

  it("a change to settings another operator changed since the page's revision is refused as CONFLICT", async () => {
    const { revision: stale } = await env.caller("viewer").config.get();
    await env.caller("operator").controls.setFields({
      path: breaker,
      fields: { minimumCalls: 25 },
      baseRevision: stale,
      reason: "A: tune",
    });
    const after = currentRevision(env.store);
    const conflict = {
      code: "CONFLICT",
      issues: [
        expect.stringMatching(
          new RegExp(
            `changed since revision ${stale}, which this change was made from \\(${breaker}\\.minimumCalls set by operator@example\\.test at revision ${after}\\): reload and try again$`,
          ),
        ),
      ],
    };
    const admin = env.caller("admin").controls;
    expect(
      await refusal(
        admin.setFields({
          path: breaker,
          fields: { minimumCalls: 30 },
          baseRevision: stale,
          reason: "B: tune",
        }),
      ),
    ).toEqual(conflict);
    // The whole group through setValue, from the same page, likewise.
    expect(
      await refusal(
        admin.setValue({
          path: breaker,
          value: { minimumCalls: 30 },
          baseRevision: stale,
          reason: "B: tune",
        }),
      ),
    ).toEqual(conflict);
    expect(currentRevision(env.store)).toBe(after);
    const cfg = (await env.caller("viewer").config.get()).config!;
    expect(cfg.upstreams.payments!.circuitBreaker.minimumCalls).toBe(25);
    expect(
      queryAudit(env.store, { actor: "admin@example.test" }).rows.map((a) => [a.target, a.outcome]),
    ).toEqual([
      [breaker, "refused"],
      [`${breaker}.minimumCalls`, "refused"],
    ]);
    // Reloaded, the same change goes through.
    expect(
      (
        await admin.setFields({
          path: breaker,
          fields: { minimumCalls: 30 },
          baseRevision: after,
          reason: "B: tune",
        })
      ).ok,
    ).toBe(true);
  });

  it("the threshold editor must say which revision its form was built from", async () => {
    expect(
      await codeOf(
        env.caller("operator").controls.setFields({
          path: breaker,
          fields: { minimumCalls: 25 },
          reason: "x",
        } as never),
      ),
    ).toBe("BAD_REQUEST");
  });
});

describe("expiry", () => {
  it("an override that expired before the next change is recorded as expired, not superseded", async () => {
    await env
      .caller("operator")
      .controls.setMode({ scope: "gateway", mode: "degraded", reason: "A 60s", ttlMs: 60_000 });
    await env
      .caller("admin", { now: () => TEST_NOW + 120_000 })
      .controls.setMode({ scope: "gateway", mode: "read_only", reason: "B" });
    expect(
      listOverrides(env.store, { includeExpired: true }).map((o) => [
        o.value,
        o.endReason,
        o.endedBy,
      ]),
    ).toEqual([
      ["read_only", null, null],
      ["degraded", "expired", "system"],
    ]);
    expect(queryAudit(env.store, { action: "override.expired" }).rows).toEqual([
      expect.objectContaining({ target: "gateway.mode", before: "degraded" }),
    ]);
    expect(queryAudit(env.store, { action: "mode.set" }).rows[0]).toMatchObject({
      actor: "admin@example.test",
      before: "normal",
      after: "read_only",
    });
  });
});
