import { setUserRole } from "@rg/db";
import { adminProcedure } from "../../trpc";
import { setRoleInput } from "./schemas";
import { changeBy, refuse } from "./shared";

/**
 * Change a user's role and end all their sessions, so the new role applies at once. The last
 * admin cannot lose the role: the check and the change are one transaction, so two admins
 * demoting each other at once cannot both succeed.
 */
export const setRole = adminProcedure.input(setRoleInput).mutation(({ ctx, input }) => {
  const r = setUserRole(ctx.store, { userId: input.userId, role: input.role }, changeBy(ctx));
  if (!r.ok) refuse(r);
  return { ok: true as const };
});
