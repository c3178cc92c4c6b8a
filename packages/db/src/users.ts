/**
 * Dashboard user changes. Each runs in one IMMEDIATE transaction that also appends its audit
 * row, so a change is either applied and audited or not applied at all, and the checks it
 * depends on (the email is free, another admin remains) read the same state the write
 * changes: two concurrent changes cannot both pass a check the other one breaks.
 *
 * Rows follow better-auth's layout (see schema.ts): a user, and a `credential` account holding
 * the password hash, whose account id is the user id.
 */
import { and, count, eq, ne } from "drizzle-orm";
import { appendAudit } from "./audit";
import { account, session, user } from "./schema";
import { writeTx, type Store } from "./store";

export type Role = "viewer" | "operator" | "admin";
export const ROLES: readonly Role[] = ["viewer", "operator", "admin"];

/** Number of user accounts (the dashboard offers first-admin sign-up while it is 0). */
export function countUsers(store: Store): number {
  return store.db.select({ n: count() }).from(user).get()?.n ?? 0;
}

/** Who makes a user change, recorded on its audit row. */
export interface UserChangeBy {
  actor: string;
  role: string;
  requestId?: string | undefined;
  /** Wall clock of the change (ms). */
  at: number;
}

export type UserChangeRefusal =
  | { ok: false; reason: "not_found"; message: string }
  | { ok: false; reason: "email_taken"; message: string }
  | { ok: false; reason: "last_admin"; message: string };

const NOT_FOUND: UserChangeRefusal = { ok: false, reason: "not_found", message: "no such user" };
const EMAIL_TAKEN: UserChangeRefusal = {
  ok: false,
  reason: "email_taken",
  message: "a user with this email exists",
};
const LAST_ADMIN: UserChangeRefusal = {
  ok: false,
  reason: "last_admin",
  message: "at least one admin must remain",
};

export interface NewUser {
  /** Ids for the user and its credential account (better-auth's generator). */
  id: string;
  accountId: string;
  /** Stored as given: callers pass the canonical (lower-case) address. */
  email: string;
  name: string;
  role: Role;
  /** The password hashed by the auth library; hashing is slow, so it is done before. */
  passwordHash: string;
}

function otherAdmins(store: Store, userId: string): number {
  return (
    store.db
      .select({ n: count() })
      .from(user)
      .where(and(eq(user.role, "admin"), ne(user.id, userId)))
      .get()?.n ?? 0
  );
}

/** Create a user with a password, audited as `user.create`; refused when the email is taken. */
export function createUser(
  store: Store,
  u: NewUser,
  by: UserChangeBy,
): { ok: true; userId: string } | UserChangeRefusal {
  return writeTx(store, () => {
    const taken = store.db.select({ id: user.id }).from(user).where(eq(user.email, u.email)).get();
    if (taken) return EMAIL_TAKEN;
    const at = new Date(by.at);
    store.db
      .insert(user)
      .values({
        id: u.id,
        email: u.email,
        name: u.name,
        role: u.role,
        createdAt: at,
        updatedAt: at,
      })
      .run();
    store.db
      .insert(account)
      .values({
        id: u.accountId,
        accountId: u.id,
        providerId: "credential",
        userId: u.id,
        password: u.passwordHash,
        createdAt: at,
        updatedAt: at,
      })
      .run();
    appendAudit(store, {
      ...by,
      action: "user.create",
      target: `user:${u.email}`,
      after: { email: u.email, name: u.name, role: u.role },
      reason: "user created",
    });
    return { ok: true as const, userId: u.id };
  });
}

function emailAndRole(
  store: Store,
  userId: string,
): { email: string; role: string | null } | undefined {
  return store.db
    .select({ email: user.email, role: user.role })
    .from(user)
    .where(eq(user.id, userId))
    .get();
}

/**
 * Change a user's role and end all their sessions (so the new role applies at once), audited
 * as `user.set_role`. Refused when the user does not exist or is the last admin losing it.
 */
export function setUserRole(
  store: Store,
  input: { userId: string; role: Role },
  by: UserChangeBy,
): { ok: true; email: string; before: string | null } | UserChangeRefusal {
  return writeTx(store, () => {
    const target = emailAndRole(store, input.userId);
    if (!target) return NOT_FOUND;
    if (target.role === "admin" && input.role !== "admin" && otherAdmins(store, input.userId) === 0)
      return LAST_ADMIN;
    store.db
      .update(user)
      .set({ role: input.role, updatedAt: new Date(by.at) })
      .where(eq(user.id, input.userId))
      .run();
    store.db.delete(session).where(eq(session.userId, input.userId)).run();
    appendAudit(store, {
      ...by,
      action: "user.set_role",
      target: `user:${target.email}`,
      before: target.role,
      after: input.role,
      reason: "role changed; sessions revoked",
    });
    return { ok: true as const, email: target.email, before: target.role };
  });
}

/**
 * Delete a user with their sessions and accounts, audited as `user.remove`. Refused when the
 * user does not exist or is the last admin.
 */
export function removeUser(
  store: Store,
  input: { userId: string },
  by: UserChangeBy,
): { ok: true; email: string } | UserChangeRefusal {
  return writeTx(store, () => {
    const target = emailAndRole(store, input.userId);
    if (!target) return NOT_FOUND;
    if (target.role === "admin" && otherAdmins(store, input.userId) === 0) return LAST_ADMIN;
    store.db.delete(session).where(eq(session.userId, input.userId)).run();
    store.db.delete(account).where(eq(account.userId, input.userId)).run();
    store.db.delete(user).where(eq(user.id, input.userId)).run();
    appendAudit(store, {
      ...by,
      action: "user.remove",
      target: `user:${target.email}`,
      before: { email: target.email, role: target.role },
      reason: "user removed",
    });
    return { ok: true as const, email: target.email };
  });
}
