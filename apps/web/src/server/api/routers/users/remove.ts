import { removeUser } from "@rg/db";
import { TRPCError } from "@trpc/server";
import { adminProcedure } from "../../trpc";
import { removeUserInput } from "./schemas";
import { changeBy, refuse } from "./shared";

/** Delete a user and their sessions. Admins cannot remove themselves or the last admin. */
export const remove = adminProcedure.input(removeUserInput).mutation(({ ctx, input }) => {
  if (input.userId === ctx.user.id) {
    throw new TRPCError({ code: "BAD_REQUEST", message: "you cannot remove yourself" });
  }
  const r = removeUser(ctx.store, { userId: input.userId }, changeBy(ctx));
  if (!r.ok) refuse(r);
  return { ok: true as const };
});
