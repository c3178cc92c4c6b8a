/** Runbook procedures against a real SQLite store: lookups by id, and runs that fail midway. */
import { currentRevision, listRunbookRuns, queryAudit } from "@rg/db";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { codeOf, createTestEnv, type TestEnv } from "../../../testing/harness";

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
