import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createUser, queryAudit, removeUser, setUserRole, type Role } from "../src/index";
import { account, session, user } from "../src/schema";
import { tempStore, type TempStore } from "./helpers";

let t: TempStore;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

const T = 1_700_000_000_000;
const by = { actor: "root@example.test", role: "admin", requestId: "req-1", at: T };

function add(id: string, role: Role) {
  const r = createUser(
    t.store,
    { id, accountId: `acc-${id}`, email: `${id}@example.test`, name: id, role, passwordHash: "h" },
    by,
  );
  expect(r).toEqual({ ok: true, userId: id });
}

function addSession(userId: string) {
  t.store.db
    .insert(session)
    .values({ id: `s-${userId}`, token: `tok-${userId}`, userId, expiresAt: new Date(T + 1e6) })
    .run();
}

const roles = () =>
  Object.fromEntries(
    t.store.db
      .select({ id: user.id, role: user.role })
      .from(user)
      .all()
      .map((u) => [u.id, u.role]),
  );

function failAuditInserts() {
  t.store.sqlite.exec(
    "CREATE TEMP TRIGGER audit_fails BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END",
  );
}

describe("user changes", () => {
  it("createUser writes the user, its credential account and the audit row; a taken email is refused", () => {
    add("a1", "admin");
    expect(t.store.db.select().from(account).all()).toMatchObject([
      { id: "acc-a1", accountId: "a1", providerId: "credential", userId: "a1", password: "h" },
    ]);
    expect(t.store.db.select().from(user).get()?.createdAt).toEqual(new Date(T));
    const again = createUser(
      t.store,
      {
        id: "x",
        accountId: "acc-x",
        email: "a1@example.test",
        name: "x",
        role: "viewer",
        passwordHash: "h",
      },
      by,
    );
    expect(again).toMatchObject({ ok: false, reason: "email_taken" });
    expect(queryAudit(t.store).rows).toMatchObject([
      {
        action: "user.create",
        target: "user:a1@example.test",
        after: { email: "a1@example.test", name: "a1", role: "admin" },
        actor: "root@example.test",
        requestId: "req-1",
        at: T,
      },
    ]);
  });

  it("setUserRole changes the role and ends the user's sessions, audited with before and after", () => {
    add("a1", "admin");
    add("o1", "operator");
    addSession("o1");
    addSession("a1");
    expect(setUserRole(t.store, { userId: "o1", role: "viewer" }, by)).toMatchObject({ ok: true });
    expect(roles()).toEqual({ a1: "admin", o1: "viewer" });
    expect(t.store.db.select({ userId: session.userId }).from(session).all()).toEqual([
      { userId: "a1" },
    ]);
    expect(queryAudit(t.store, { action: "user.set_role" }).rows[0]).toMatchObject({
      target: "user:o1@example.test",
      before: "operator",
      after: "viewer",
    });
    expect(setUserRole(t.store, { userId: "nobody", role: "viewer" }, by)).toMatchObject({
      ok: false,
      reason: "not_found",
    });
  });

  it("the last admin can neither lose the role nor be removed; another admin can", () => {
    add("a1", "admin");
    add("a2", "admin");
    expect(setUserRole(t.store, { userId: "a2", role: "viewer" }, by).ok).toBe(true);
    expect(setUserRole(t.store, { userId: "a1", role: "operator" }, by)).toEqual({
      ok: false,
      reason: "last_admin",
      message: "at least one admin must remain",
    });
    expect(removeUser(t.store, { userId: "a1" }, by)).toMatchObject({ reason: "last_admin" });
    expect(setUserRole(t.store, { userId: "a1", role: "admin" }, by).ok).toBe(true);
    expect(roles()).toEqual({ a1: "admin", a2: "viewer" });
  });

  it("removeUser deletes the user with sessions and accounts, audited", () => {
    add("a1", "admin");
    add("v1", "viewer");
    addSession("v1");
    expect(removeUser(t.store, { userId: "v1" }, by)).toEqual({
      ok: true,
      email: "v1@example.test",
    });
    expect(roles()).toEqual({ a1: "admin" });
    expect(t.store.db.select().from(session).all()).toEqual([]);
    expect(t.store.db.select({ userId: account.userId }).from(account).all()).toEqual([
      { userId: "a1" },
    ]);
    expect(queryAudit(t.store, { action: "user.remove" }).rows[0]).toMatchObject({
      target: "user:v1@example.test",
      before: { email: "v1@example.test", role: "viewer" },
    });
    expect(removeUser(t.store, { userId: "v1" }, by)).toMatchObject({ reason: "not_found" });
  });

  it("applies nothing when the audit row cannot be written", () => {
    add("a1", "admin");
    add("o1", "operator");
    addSession("o1");
    failAuditInserts();
    const nu = {
      id: "n1",
      accountId: "acc-n1",
      email: "n1@example.test",
      name: "n",
      role: "viewer" as const,
      passwordHash: "h",
    };
    expect(() => createUser(t.store, nu, by)).toThrow(/audit unavailable/);
    expect(() => setUserRole(t.store, { userId: "o1", role: "admin" }, by)).toThrow(
      /audit unavailable/,
    );
    expect(() => removeUser(t.store, { userId: "o1" }, by)).toThrow(/audit unavailable/);
    expect(roles()).toEqual({ a1: "admin", o1: "operator" });
    expect(t.store.db.select().from(account).all()).toHaveLength(2);
    expect(t.store.db.select().from(session).all()).toHaveLength(1);
  });
});
