/** User management against a real store: each change applied and audited, or refused whole. */
import { queryAudit } from "@rg/db";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { codeOf, createTestEnv, TEST_ORIGIN, type TestEnv } from "../../../testing/harness";

let env: TestEnv;
beforeEach(async () => {
  env = await createTestEnv();
});
afterEach(() => env.close());

async function users() {
  return (await env.auth.$context).internalAdapter.listUsers(100);
}

async function roleOf(userId: string): Promise<unknown> {
  const u = await (await env.auth.$context).internalAdapter.findUserById(userId);
  return (u as { role?: unknown } | null)?.role;
}

function failAuditInserts(): () => void {
  env.store.sqlite.exec(
    "CREATE TEMP TRIGGER audit_fails BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END",
  );
  return () => env.store.sqlite.exec("DROP TRIGGER audit_fails");
}

async function secondAdmin() {
  const email = "admin2@example.test";
  const { userId } = await env
    .caller("admin")
    .users.create({ email, name: "A2", password: "a-long-password-2", role: "admin" });
  const caller = env.caller(null, { user: { id: userId, email, name: "A2", role: "admin" } });
  return { userId, caller };
}

function signIn(email: string, password: string): Promise<Response> {
  return env.auth.handler(
    new Request(`${TEST_ORIGIN}/api/auth/sign-in/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: TEST_ORIGIN },
      body: JSON.stringify({ email, password }),
    }),
  );
}

describe("users: a change without its audit row is not applied", () => {
  it("setRole leaves the role and the sessions as they were", async () => {
    const session = await signIn(env.users.viewer.email, env.users.viewer.password);
    const cookie = session.headers.getSetCookie()[0]!.split(";")[0]!;
    const restore = failAuditInserts();
    const code = await codeOf(
      env.caller("admin").users.setRole({ userId: env.users.viewer.id, role: "admin" }),
    );
    restore();
    expect(code).toBe("INTERNAL_SERVER_ERROR");
    expect(await roleOf(env.users.viewer.id)).toBe("viewer");
    expect(await env.auth.api.getSession({ headers: new Headers({ cookie }) })).not.toBeNull();
    expect(queryAudit(env.store, { action: "user.set_role" }).rows).toEqual([]);
  });

  it("create leaves no user behind", async () => {
    const restore = failAuditInserts();
    const code = await codeOf(
      env.caller("admin").users.create({
        email: "new@example.test",
        name: "New",
        password: "a-long-password",
        role: "operator",
      }),
    );
    restore();
    expect(code).toBe("INTERNAL_SERVER_ERROR");
    expect((await users()).map((u) => u.email)).not.toContain("new@example.test");
    expect((await signIn("new@example.test", "a-long-password")).status).toBe(401);
  });

  it("remove keeps the user", async () => {
    const restore = failAuditInserts();
    const code = await codeOf(env.caller("admin").users.remove({ userId: env.users.operator.id }));
    restore();
    expect(code).toBe("INTERNAL_SERVER_ERROR");
    expect(await roleOf(env.users.operator.id)).toBe("operator");
    expect((await signIn(env.users.operator.email, env.users.operator.password)).status).toBe(200);
  });
});

describe("users: concurrent changes", () => {
  it("two admins demoting each other at once: one succeeds, the other is refused with the reason", async () => {
    const a2 = await secondAdmin();
    const results = await Promise.allSettled([
      env.caller("admin").users.setRole({ userId: a2.userId, role: "viewer" }),
      a2.caller.users.setRole({ userId: env.users.admin.id, role: "viewer" }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected"]);
    const refusal = (results[1] as PromiseRejectedResult).reason as {
      code: string;
      message: string;
    };
    expect(refusal).toMatchObject({
      code: "BAD_REQUEST",
      message: "at least one admin must remain",
    });
    const admins = (await users()).filter((u) => (u as { role?: string }).role === "admin");
    expect(admins.map((u) => u.email)).toEqual([env.users.admin.email]);
    expect(queryAudit(env.store, { action: "user.set_role" }).rows).toHaveLength(1);
  });

  it("two admins removing each other at once leave one admin", async () => {
    const a2 = await secondAdmin();
    const codes = await Promise.all([
      codeOf(env.caller("admin").users.remove({ userId: a2.userId })),
      codeOf(a2.caller.users.remove({ userId: env.users.admin.id })),
    ]);
    expect(codes).toEqual(["OK", "BAD_REQUEST"]);
    const admins = (await users()).filter((u) => (u as { role?: string }).role === "admin");
    expect(admins.map((u) => u.email)).toEqual([env.users.admin.email]);
  });

  it("creating the same address twice at once: one user, the other call gets CONFLICT", async () => {
    const input = {
      email: "Same@Example.test",
      name: "Same",
      password: "a-long-password",
      role: "viewer" as const,
    };
    const codes = await Promise.all([
      codeOf(env.caller("admin").users.create(input)),
      codeOf(env.caller("admin").users.create({ ...input, email: "same@example.test" })),
    ]);
    expect(codes.sort()).toEqual(["CONFLICT", "OK"]);
    expect((await users()).filter((u) => u.email === "same@example.test")).toHaveLength(1);
    expect(queryAudit(env.store, { action: "user.create" }).rows).toHaveLength(1);
  });
});

describe("users: created accounts", () => {
  it("sign in with their password and role; the audit row names the change", async () => {
    const { userId } = await env.caller("admin").users.create({
      email: "Op2@Example.test",
      name: "Op Two",
      password: "op2-long-password",
      role: "operator",
    });
    const res = await signIn("op2@example.test", "op2-long-password");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { user: { id: string; role: string } };
    expect(body.user).toMatchObject({ id: userId, role: "operator" });
    expect((await signIn("op2@example.test", "wrong-password-1")).status).toBe(401);
    expect(queryAudit(env.store, { action: "user.create" }).rows[0]).toMatchObject({
      actor: env.users.admin.email,
      role: "admin",
      requestId: "req-admin",
      target: "user:op2@example.test",
      after: { email: "op2@example.test", name: "Op Two", role: "operator" },
      at: env.now,
      outcome: "applied",
    });
  });
});
