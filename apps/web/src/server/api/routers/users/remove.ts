import { appendAudit } from "@rg/db";
import { TRPCError } from "@trpc/server";
import { parseRole } from "../../../auth/roles";
import { actorOf, adminProcedure } from "../../trpc";
import { removeUserInput } from "./schemas";
import { assertAdminRemains, authContext } from "./shared";

/** Delete a user and their sessions. Admins cannot remove themselves or the last admin. */
export const remove = adminProcedure.input(removeUserInput).mutation(async ({ ctx, input }) => {
  if (input.userId === ctx.user.id) {
    throw new TRPCError({ code: "BAD_REQUEST", message: "you cannot remove yourself" });
  }
  const a = await authContext(ctx.auth);
  const target = await a.internalAdapter.findUserById(input.userId);
  if (!target) throw new TRPCError({ code: "NOT_FOUND", message: "no such user" });
  const before = parseRole((target as { role?: unknown }).role);
  if (before === "admin") await assertAdminRemains(ctx.auth, target.id);
  await a.internalAdapter.deleteUserSessions(target.id);
  await a.internalAdapter.deleteUser(target.id);
  const { actor, role, requestId } = actorOf(ctx);
  appendAudit(ctx.store, {
    actor,
    role,
    requestId,
    action: "user.remove",
    target: `user:${target.email}`,
    before: { email: target.email, role: before },
    reason: "user removed",
    at: ctx.now(),
  });
  return { ok: true as const };
});
