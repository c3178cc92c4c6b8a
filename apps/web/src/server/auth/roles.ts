/**
 * Dashboard roles, ordered: each role can do everything the one before it can.
 * viewer reads; operator also acts on the gateway (controls, runbooks, incidents);
 * admin also manages users.
 */
import { createAccessControl } from "better-auth/plugins/access";
import { adminAc, defaultStatements } from "better-auth/plugins/admin/access";
import { z } from "zod";

export const ROLES = ["viewer", "operator", "admin"] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.output<typeof roleSchema>;

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** True when `role` grants at least what `minimum` grants. */
export function roleAtLeast(role: Role, minimum: Role): boolean {
  return RANK[role] >= RANK[minimum];
}

/** A stored role string as a known role, or null (unknown roles get no access). */
export function parseRole(value: unknown): Role | null {
  const r = roleSchema.safeParse(value);
  return r.success ? r.data : null;
}

/** better-auth's admin plugin permissions: only admins may manage users and sessions. */
export const accessControl = createAccessControl(defaultStatements);
export const authRoles = {
  viewer: accessControl.newRole({ user: [], session: [] }),
  operator: accessControl.newRole({ user: [], session: [] }),
  admin: accessControl.newRole(adminAc.statements),
};
