import { appendAudit } from "@rg/db";
import { TRPCError } from "@trpc/server";
import { parseRole } from "../../../auth/roles";
import { actorOf, adminProcedure } from "../../trpc";
import { setRoleInput } from "./schemas";
import { assertAdminRemains, authContext } from "./shared";

/** Change a user's role and end all their sessions, so the new role applies at once. */
export const setRole = adminProcedure.input(setRoleInput).mutation(async ({ ctx, input }) => {
  const a = await authContext(ctx.auth);
  const target = await a.internalAdapter.findUserById(input.userId);
  if (!target) throw new TRPCError({ code: "NOT_FOUND", message: "no such user" });
  const before = parseRole((target as { role?: unknown }).role);
  if (before === "admin" && input.role !== "admin") await assertAdminRemains(ctx.auth, target.id);
  await a.internalAdapter.updateUser(target.id, { role: input.role });
  await a.internalAdapter.deleteUserSessions(target.id);
  const { actor, role, requestId } = actorOf(ctx);
  appendAudit(ctx.store, {
    actor,
    role,
    requestId,
    action: "user.set_role",
    target: `user:${target.email}`,
    before,
    after: input.role,
    reason: "role changed; sessions revoked",
    at: ctx.now(),
  });
  return { ok: true as const };
});
