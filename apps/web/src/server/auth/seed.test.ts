import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { countUsers, openStore } from "@rg/db";
import { afterEach, describe, expect, it } from "vitest";
import { createAuth } from "./auth";
import { ensureInitialAdmin, seedUser } from "./seed";

const ORIGIN = "http://localhost:3000";
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), "rg-seed-"));
  dirs.push(dir);
  return join(dir, "gateway.db");
}

async function signIn(
  dbPath: string,
  email: string,
  password: string,
): Promise<{ status: number; role?: string }> {
  const store = openStore(dbPath);
  try {
    const auth = createAuth(store, {
      secret: "test-secret-test-secret-test-secret-0123",
      baseURL: ORIGIN,
      rateLimit: { enabled: false, signInMax: 5, signInWindowS: 60 },
    });
    const res = await auth.handler(
      new Request(`${ORIGIN}/api/auth/sign-in/email`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: ORIGIN },
        body: JSON.stringify({ email, password }),
      }),
    );
    const body = (await res.json()) as { user?: { role?: string } };
    return { status: res.status, ...(body.user?.role ? { role: body.user.role } : {}) };
  } finally {
    store.close();
  }
}

describe("seeding users", () => {
  it("seedUser creates a user of a role that can sign in, and re-seeding resets password and role", async () => {
    const dbPath = tempDb();
    const { userId } = await seedUser({
      dbPath,
      email: "op@example.test",
      password: "first-password",
      role: "operator",
    });
    expect(await signIn(dbPath, "op@example.test", "first-password")).toEqual({
      status: 200,
      role: "operator",
    });

    const again = await seedUser({
      dbPath,
      email: "op@example.test",
      password: "second-password",
      role: "admin",
    });
    expect(again.userId).toBe(userId);
    expect((await signIn(dbPath, "op@example.test", "first-password")).status).toBe(401);
    expect(await signIn(dbPath, "op@example.test", "second-password")).toEqual({
      status: 200,
      role: "admin",
    });
  });

  it("creates a first admin with a generated one-time password only when there is no user", async () => {
    const dbPath = tempDb();
    const store = openStore(dbPath);
    const auth = createAuth(store, {
      secret: "test-secret-test-secret-test-secret-0123",
      rateLimit: { enabled: false, signInMax: 5, signInWindowS: 60 },
    });
    const first = await ensureInitialAdmin(store, auth, {});
    expect(first?.email).toBe("admin@localhost.localdomain");
    expect(first?.generatedPassword?.length).toBeGreaterThanOrEqual(20);
    expect(await ensureInitialAdmin(store, auth, {})).toBeNull();
    expect(countUsers(store)).toBe(1);
    store.close();
    // The short form typed at sign-in reaches the stored address.
    expect(await signIn(dbPath, "admin@localhost", first!.generatedPassword!)).toEqual({
      status: 200,
      role: "admin",
    });
  });

  it("uses ADMIN_EMAIL / ADMIN_PASSWORD when given", async () => {
    const dbPath = tempDb();
    const store = openStore(dbPath);
    const auth = createAuth(store, {
      secret: "test-secret-test-secret-test-secret-0123",
      rateLimit: { enabled: false, signInMax: 5, signInWindowS: 60 },
    });
    const r = await ensureInitialAdmin(store, auth, {
      email: "ops@example.test",
      password: "chosen-password",
    });
    expect(r).toEqual({ email: "ops@example.test" });
    store.close();
    expect(await signIn(dbPath, "ops@example.test", "chosen-password")).toEqual({
      status: 200,
      role: "admin",
    });
  });
});
