/**
 * Every procedure of the router, refused without a session and enforced per role. The table
 * below must name every procedure: adding one without an entry fails this test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES, type Role } from "../auth/roles";
import { codeOf, createTestEnv, type TestEnv } from "../testing/harness";
import { appRouter } from "./root";

type Access = Role | "public";

/** Minimum role per procedure, and an input that passes validation. */
const ACCESS: Record<string, { min: Access; input?: unknown }> = {
  health: { min: "public" },
  me: { min: "viewer" },
  "overview.get": { min: "viewer" },
  "upstreams.get": { min: "viewer", input: { id: "payments" } },
  "upstreams.series": { min: "viewer", input: { id: "payments", from: 0, to: 60_000 } },
  "routes.series": { min: "viewer", input: { id: "payments", from: 0, to: 60_000 } },
  "config.get": { min: "viewer" },
  "config.preview": {
    min: "viewer",
    input: { path: "routes.payments.retry.maxAttempts", value: 2 },
  },
  "controls.setValue": {
    min: "operator",
    input: { path: "routes.payments.retry.maxAttempts", value: 2, reason: "test" },
  },
  "controls.setFields": {
    min: "operator",
    input: {
      path: "upstreams.payments.bulkhead",
      fields: { maxQueue: 10 },
      baseRevision: 1,
      reason: "test",
    },
  },
  "controls.clearOverride": {
    min: "operator",
    input: { path: "routes.payments.retry.maxAttempts", reason: "test" },
  },
  "controls.forceBreaker": {
    min: "operator",
    input: { upstream: "payments", state: "none", reason: "test" },
  },
  "controls.setMode": {
    min: "operator",
    input: { scope: "gateway", mode: "normal", reason: "test" },
  },
  "controls.shiftWeights": {
    min: "operator",
    input: { upstream: "payments", weights: { a: 100 }, durationMs: 0, reason: "test" },
  },
  "controls.shiftTraffic": {
    min: "operator",
    input: { route: "catalog", to: "catalog-backup", percent: 0, durationMs: 0, reason: "test" },
  },
  "controls.setFaultInjection": {
    min: "operator",
    input: {
      route: "catalog",
      delayPercent: 0,
      delayMs: 0,
      abortPercent: 0,
      abortStatus: 503,
      reason: "test",
    },
  },
  "controls.applied": { min: "viewer", input: { revision: 1 } },
  "runbooks.list": { min: "viewer" },
  "runbooks.preview": { min: "viewer", input: { id: "payments-degrade" } },
  "runbooks.run": { min: "operator", input: { id: "payments-degrade", reason: "test" } },
  "runbooks.runs": { min: "viewer" },
  "incidents.list": { min: "viewer" },
  "incidents.get": { min: "viewer", input: { id: 1 } },
  "incidents.acknowledge": { min: "operator", input: { id: 1 } },
  "incidents.annotate": { min: "operator", input: { id: 1, body: "note" } },
  "incidents.resolve": { min: "operator", input: { id: 1, summary: "done" } },
  "audit.list": { min: "viewer" },
  "audit.filters": { min: "viewer" },
  "users.list": { min: "admin" },
  "users.create": {
    min: "admin",
    input: { email: "new@example.test", name: "New", password: "a-long-password", role: "viewer" },
  },
  "users.setRole": { min: "admin", input: { userId: "no-such-user", role: "viewer" } },
  "users.remove": { min: "admin", input: { userId: "no-such-user" } },
};

const RANK: Record<Access, number> = { public: -1, viewer: 0, operator: 1, admin: 2 };

function procedurePaths(): string[] {
  return Object.keys(appRouter._def.procedures).sort();
}

function call(env: TestEnv, role: Role | null, path: string, input: unknown): Promise<unknown> {
  let node: unknown = env.caller(role);
  for (const part of path.split(".")) node = (node as Record<string, unknown>)[part];
  return (node as (i: unknown) => Promise<unknown>)(input);
}

describe("router security", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(() => env.close());

  it("lists every procedure in the access table, and nothing else", () => {
    expect(procedurePaths()).toEqual(Object.keys(ACCESS).sort());
  });

  it("exposes only the health check without a session", () => {
    const open = procedurePaths().filter((p) => ACCESS[p]?.min === "public");
    expect(open).toEqual(["health"]);
  });

  for (const path of Object.keys(ACCESS)) {
    const { min, input } = ACCESS[path]!;
    it(`${path}: anonymous ${min === "public" ? "allowed" : "refused"}, minimum role ${min}`, async () => {
      const anonymous = await codeOf(call(env, null, path, input));
      if (min === "public") expect(anonymous).toBe("OK");
      else expect(anonymous).toBe("UNAUTHORIZED");

      for (const role of ROLES) {
        const code = await codeOf(call(env, role, path, input));
        if (RANK[role] < RANK[min]) expect(code, `${role} on ${path}`).toBe("FORBIDDEN");
        // Allowed: the call reaches the procedure (which may still refuse the input).
        else
          expect(["OK", "NOT_FOUND", "BAD_REQUEST", "CONFLICT"], `${role} on ${path}`).toContain(
            code,
          );
      }
    });
  }

  it("refuses a user whose stored role is unknown", async () => {
    const caller = env.caller(null, {
      user: { id: "x", email: "odd@example.test", name: "odd", role: null },
    });
    expect(await codeOf(caller.me())).toBe("FORBIDDEN");
  });

  it("refuses unknown input fields (strict schemas)", async () => {
    const code = await codeOf(
      env
        .caller("operator")
        .controls.setMode({ scope: "gateway", mode: "normal", reason: "x", extra: 1 } as never),
    );
    expect(code).toBe("BAD_REQUEST");
  });
});
