/** Runbook procedures against a real SQLite store: lookups by id, and runs that fail midway. */
import { currentRevision, listOverrides, listRunbookRuns, queryAudit } from "@rg/db";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { codeOf, createTestEnv, testConfig, type TestEnv } from "../../../testing/harness";

let env: TestEnv;
beforeEach(async () => {
  env = await createTestEnv();
});
afterEach(() => env.close());

describe("runbooks by id", () => {
  it("an id named like an Object.prototype member is no runbook: nothing is started", async () => {
    const before = currentRevision(env.store);
    for (const id of ["toString", "constructor", "hasOwnProperty", "valueOf"]) {
      expect(await codeOf(env.caller("operator").runbooks.run({ id, reason: "x" })), id).toBe(
        "NOT_FOUND",
      );
      expect(await codeOf(env.caller("viewer").runbooks.preview({ id })), id).toBe("NOT_FOUND");
    }
    expect(listRunbookRuns(env.store)).toEqual([]);
    expect(queryAudit(env.store, {}).rows.filter((r) => r.target.startsWith("runbook:"))).toEqual(
      [],
    );
    expect(currentRevision(env.store)).toBe(before);
  });

  it("a run that throws after it started is closed as failed, not left running", async () => {
    // The store refuses to record step 1, after step 0 was applied.
    env.store.sqlite.exec(
      "CREATE TEMP TRIGGER step_fails BEFORE INSERT ON runbook_steps WHEN NEW.step = 1 BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    const code = await codeOf(
      env.caller("operator").runbooks.run({ id: "payments-degrade", reason: "payments failing" }),
    );
    expect(code).toBe("INTERNAL_SERVER_ERROR");
    const runs = listRunbookRuns(env.store);
    expect(runs.map((r) => r.status)).toEqual(["failed"]);
    expect(runs[0]?.steps.map((s) => s.status)).toEqual(["done"]);
    const finish = queryAudit(env.store, { target: `runbook:payments-degrade` }).rows[0];
    expect(finish).toMatchObject({ action: "runbook.finish", after: { status: "failed" } });
  });
});

describe("a step of several changes", () => {
  it("a shift_weight step is one revision, or nothing when one of its writes fails", async () => {
    const drain = {
      title: "Drain a",
      steps: [{ action: "shift_weight", upstream: "payments", weights: { a: 0, b: 200 } }],
    };
    const config = { ...testConfig, runbooks: { ...testConfig.runbooks, drain } };
    const own = await createTestEnv({ config });
    try {
      own.store.sqlite.exec(
        "CREATE TEMP TRIGGER audit_fails BEFORE INSERT ON audit WHEN NEW.target = 'upstreams.payments.endpoints.b.weight' BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END",
      );
      const before = currentRevision(own.store);
      const failed = await own.caller("operator").runbooks.run({ id: "drain", reason: "x" });
      expect(failed.status).toBe("failed");
      expect(failed.steps[0]?.detail).toMatch(/audit unavailable/);
      expect(currentRevision(own.store)).toBe(before);
      expect(listOverrides(own.store, { includeExpired: true })).toEqual([]);

      own.store.sqlite.exec("DROP TRIGGER audit_fails");
      const done = await own.caller("operator").runbooks.run({ id: "drain", reason: "x" });
      expect(done).toMatchObject({ status: "done", revision: before + 1 });
      expect(listOverrides(own.store).map((o) => [o.path, o.value, o.revision])).toEqual([
        ["upstreams.payments.endpoints.a.weight", 0, before + 1],
        ["upstreams.payments.endpoints.b.weight", 200, before + 1],
      ]);
    } finally {
      own.close();
    }
  });
});
