import { appendAudit } from "@rg/db";
import { TRPCError } from "@trpc/server";
import { actorOf, adminProcedure } from "../../trpc";
import { createUserInput } from "./schemas";
import { authContext } from "./shared";

export const create = adminProcedure.input(createUserInput).mutation(async ({ ctx, input }) => {
  const a = await authContext(ctx.auth);
  const email = input.email.toLowerCase();
  if (await a.internalAdapter.findUserByEmail(email)) {
    throw new TRPCError({ code: "CONFLICT", message: "a user with this email exists" });
  }
  // Server-side call without request headers: authorization was checked by adminProcedure.
  const created = await ctx.auth.api.createUser({
    body: { email, name: input.name, password: input.password, role: input.role },
  });
  const { actor, role, requestId } = actorOf(ctx);
  appendAudit(ctx.store, {
    actor,
    role,
    requestId,
    action: "user.create",
    target: `user:${email}`,
    after: { email, name: input.name, role: input.role },
    reason: "user created",
    at: ctx.now(),
  });
  return { ok: true as const, userId: created.user.id };
});
