/**
 * Test harness: a real SQLite store in a temp dir with a small bootstrap config, an auth
 * instance bound to it, and tRPC callers with a fabricated session per role.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, seedBootstrapConfig, type Store } from "@rg/db";
import { createCaller } from "../api/root";
import type { Context } from "../api/trpc";
import { createAuth, type Auth, type AuthOptions } from "../auth/auth";
import type { Role } from "../auth/roles";
import { upsertUser } from "../auth/seed";

export const TEST_ORIGIN = "http://localhost:3000";
export const TEST_NOW = 1_800_000_000_000;

export const testConfig = {
  upstreams: {
    payments: {
      endpoints: {
        a: { url: "http://127.0.0.1:4101", weight: 100 },
        b: { url: "http://127.0.0.1:4102", weight: 100 },
      },
      circuitBreaker: { failureRateThreshold: 50, minimumCalls: 10 },
    },
    catalog: { endpoints: { main: { url: "http://127.0.0.1:4401" } } },
    "catalog-backup": { endpoints: { main: { url: "http://127.0.0.1:4402" } } },
  },
  routes: {
    payments: {
      match: { pathPrefix: "/api/payments" },
      upstream: "payments",
      slo: { successTarget: 0.99 },
    },
    catalog: {
      match: { pathPrefix: "/api/catalog" },
      upstream: "catalog",
      criticality: "non_critical",
      fallback: { upstream: "catalog-backup" },
      websocket: { enabled: true },
    },
  },
  runbooks: {
    "payments-degrade": {
      title: "Degrade payments",
      description: "Hold the breaker open and send catalog to its backup",
      steps: [
        { action: "force_breaker", upstream: "payments", state: "forced_open" },
        { action: "shift_traffic", route: "catalog", to: "catalog-backup", percent: 50 },
        { action: "set_mode", scope: "route", target: "payments", mode: "degraded" },
      ],
    },
    broken: {
      title: "Broken runbook",
      steps: [
        { action: "set_mode", scope: "gateway", mode: "degraded" },
        { action: "set_value", path: "routes.payments.retry.maxAttempts", value: 99 },
        { action: "set_mode", scope: "gateway", mode: "read_only" },
      ],
    },
  },
};

export interface TestEnv {
  dir: string;
  dbPath: string;
  store: Store;
  auth: Auth;
  users: Record<Role, { id: string; email: string; password: string }>;
  now: number;
  /** A caller signed in with `role`, or anonymous with null. */
  caller(role: Role | null, extra?: Partial<Context>): ReturnType<typeof createCaller>;
  context(role: Role | null, extra?: Partial<Context>): Context;
  close(): void;
}

const TEST_SECRET = "test-secret-test-secret-test-secret-0123";

interface Template {
  dbPath: string;
  users: TestEnv["users"];
}

let template: Promise<Template> | undefined;

/**
 * One migrated store with the three users, built once per test file: password hashing is
 * deliberately slow, so each test copies this file instead of hashing again.
 */
function userTemplate(): Promise<Template> {
  template ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "rg-web-template-"));
    const dbPath = join(dir, "template.db");
    const store = openStore(dbPath);
    const auth = createAuth(store, {
      secret: TEST_SECRET,
      baseURL: TEST_ORIGIN,
      rateLimit: { enabled: false, signInMax: 5, signInWindowS: 60 },
    });
    const users = {} as TestEnv["users"];
    for (const role of ["viewer", "operator", "admin"] as const) {
      const email = `${role}@example.test`;
      const password = `${role}-password-123`;
      const id = await upsertUser(auth, { email, password, role });
      users[role] = { id, email, password };
    }
    // Closing checkpoints the WAL into the main file, so a plain copy is complete.
    store.close();
    return { dbPath, users };
  })();
  return template;
}

export async function createTestEnv(
  opts: { rateLimit?: AuthOptions["rateLimit"]; config?: unknown } = {},
): Promise<TestEnv> {
  const t = await userTemplate();
  const dir = mkdtempSync(join(tmpdir(), "rg-web-"));
  const dbPath = join(dir, "gateway.db");
  copyFileSync(t.dbPath, dbPath);
  const store = openStore(dbPath);
  // config: null leaves the store without a bootstrap config.
  if (opts.config !== null) {
    seedBootstrapConfig(store, opts.config ?? testConfig, "test.yaml", TEST_NOW - 3600_000);
  }
  const auth = createAuth(store, {
    secret: TEST_SECRET,
    baseURL: TEST_ORIGIN,
    rateLimit: opts.rateLimit ?? { enabled: false, signInMax: 5, signInWindowS: 60 },
  });
  const users = structuredClone(t.users);
  const context = (role: Role | null, extra: Partial<Context> = {}): Context => ({
    store,
    auth,
    user: role ? { id: users[role].id, email: users[role].email, name: role, role } : null,
    requestId: `req-${role ?? "anon"}`,
    headers: new Headers(),
    now: () => TEST_NOW,
    ...extra,
  });
  return {
    dir,
    dbPath,
    store,
    auth,
    users,
    now: TEST_NOW,
    context,
    caller: (role, extra) => createCaller(context(role, extra)),
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The tRPC error code of a rejected promise, or "OK" when it resolved. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (e) {
    return (e as { code?: string }).code ?? `non-tRPC error: ${(e as Error).message}`;
  }
}
