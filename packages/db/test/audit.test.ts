import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendAudit, queryAudit, writeTx } from "../src/index";
import { tempStore, type TempStore } from "./helpers";

let t: TempStore;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

const row = (i: number, actor = "alice", action = "override.set") => ({
  actor,
  role: "operator",
  action,
  target: `routes.r${i}.mode`,
  before: "normal",
  after: { mode: "degraded" },
  reason: `reason ${i}`,
  at: 1000 + i,
});

describe("audit log", () => {
  it("cannot be updated or deleted (triggers)", () => {
    const id = appendAudit(t.store, row(1));
    expect(() =>
      t.store.sqlite.prepare("UPDATE audit SET actor = 'mallory' WHERE id = ?").run(id),
    ).toThrow(/append-only/);
    expect(() => t.store.sqlite.prepare("DELETE FROM audit WHERE id = ?").run(id)).toThrow(
      /append-only/,
    );
    expect(() => t.store.sqlite.prepare("DELETE FROM audit").run()).toThrow(/append-only/);
    expect(queryAudit(t.store).rows[0]).toMatchObject({
      id,
      actor: "alice",
      after: { mode: "degraded" },
    });
  });

  it("rolls back with the change it belongs to", () => {
    expect(() =>
      writeTx(t.store, () => {
        appendAudit(t.store, row(1));
        throw new Error("the change failed");
      }),
    ).toThrow("the change failed");
    expect(queryAudit(t.store).rows).toHaveLength(0);
  });

  it("filters, pages newest first and lists distinct actors and actions", () => {
    for (let i = 0; i < 5; i++) appendAudit(t.store, row(i, i % 2 ? "bob" : "alice"));
    appendAudit(t.store, row(9, "carol", "incident.note"));
    const all = queryAudit(t.store);
    expect(all.rows.map((r) => r.reason)).toEqual([
      "reason 9",
      "reason 4",
      "reason 3",
      "reason 2",
      "reason 1",
      "reason 0",
    ]);
    expect(all.actors).toEqual(["alice", "bob", "carol"]);
    expect(all.actions).toEqual(["incident.note", "override.set"]);
    expect(queryAudit(t.store, { actor: "bob" }).rows.map((r) => r.reason)).toEqual([
      "reason 3",
      "reason 1",
    ]);
    expect(queryAudit(t.store, { from: 1002, to: 1003 }).rows).toHaveLength(2);
    const p1 = queryAudit(t.store, { limit: 4 });
    expect(p1.nextBeforeId).toBeDefined();
    const p2 = queryAudit(t.store, { limit: 4, beforeId: p1.nextBeforeId! });
    expect(p2.rows.map((r) => r.reason)).toEqual(["reason 1", "reason 0"]);
    expect(p2.nextBeforeId).toBeUndefined();
  });
});
