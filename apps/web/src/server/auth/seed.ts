/**
 * Creating users without the HTTP API: the first-start admin, and fixtures (e2e, scripts)
 * that need users of each role. Call seedUser with a database path; nothing here is reachable
 * over HTTP.
 */
import { randomBytes } from "node:crypto";
import { countUsers, openStore, type Store } from "@rg/db";
import { createAuth, type Auth } from "./auth";
import { canonicalEmail } from "./email";
import type { Role } from "./roles";

export interface SeedUserInput {
  email: string;
  password: string;
  role: Role;
  name?: string;
}

/** An auth instance for out-of-band user management (no cookies are ever issued from it). */
function offlineAuth(store: Store): Auth {
  return createAuth(store, {
    // Only password hashing is used here, which needs no signing secret.
    secret: randomBytes(32).toString("base64url"),
    rateLimit: { enabled: false, signInMax: 1, signInWindowS: 1 },
  });
}

/**
 * Create the user, or (if the email exists) reset its password and role and end its sessions.
 * Returns the user id.
 */
export async function upsertUser(auth: Auth, input: SeedUserInput): Promise<string> {
  const ctx = await auth.$context;
  const email = canonicalEmail(input.email);
  const existing = await ctx.internalAdapter.findUserByEmail(email, { includeAccounts: true });
  if (!existing) {
    const created = await auth.api.createUser({
      body: { email, password: input.password, name: input.name ?? email, role: input.role },
    });
    return created.user.id;
  }
  const userId = existing.user.id;
  await ctx.internalAdapter.updateUser(userId, { role: input.role });
  const hash = await ctx.password.hash(input.password);
  if (existing.accounts.some((a) => a.providerId === "credential")) {
    await ctx.internalAdapter.updatePassword(userId, hash);
  } else {
    await ctx.internalAdapter.linkAccount({
      userId,
      providerId: "credential",
      accountId: userId,
      password: hash,
    });
  }
  await ctx.internalAdapter.deleteUserSessions(userId);
  return userId;
}

/** Seed one user into the store at `dbPath` (opened, migrated and closed here). */
export async function seedUser(
  input: SeedUserInput & { dbPath: string },
): Promise<{ userId: string }> {
  const store = openStore(input.dbPath);
  try {
    const userId = await upsertUser(offlineAuth(store), input);
    return { userId };
  } finally {
    store.close();
  }
}

export interface InitialAdmin {
  email: string;
  /** Set only when it was generated (to be shown once). */
  generatedPassword?: string;
}

/**
 * On first start (no user at all), create an admin: from ADMIN_EMAIL / ADMIN_PASSWORD when
 * given, else admin@localhost with a random one-time password. Returns null when users exist.
 */
export async function ensureInitialAdmin(
  store: Store,
  auth: Auth,
  given: { email?: string; password?: string },
): Promise<InitialAdmin | null> {
  if (countUsers(store) > 0) return null;
  const email = canonicalEmail(given.email ?? "admin@localhost");
  const generated = given.password ? undefined : randomBytes(18).toString("base64url");
  await upsertUser(auth, {
    email,
    password: given.password ?? generated!,
    role: "admin",
    name: "Administrator",
  });
  return generated ? { email, generatedPassword: generated } : { email };
}
