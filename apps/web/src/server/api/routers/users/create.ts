import { createUser } from "@rg/db";
import { TRPCError } from "@trpc/server";
import { adminProcedure } from "../../trpc";
import { createUserInput } from "./schemas";
import { authContext, changeBy, refuse } from "./shared";

/**
 * Create a user with a password. The password is hashed first (slow); the email check, the
 * user and account rows and the audit row are then one transaction, so a concurrent create of
 * the same address is refused with CONFLICT.
 */
export const create = adminProcedure.input(createUserInput).mutation(async ({ ctx, input }) => {
  const a = await authContext(ctx.auth);
  const email = input.email.toLowerCase();
  const passwordHash = await a.password.hash(input.password);
  const id = a.generateId({ model: "user" });
  const accountId = a.generateId({ model: "account" });
  if (id === false || accountId === false) {
    throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "no id generator" });
  }
  const r = createUser(
    ctx.store,
    { id, accountId, email, name: input.name, role: input.role, passwordHash },
    changeBy(ctx),
  );
  if (!r.ok) refuse(r);
  return { ok: true as const, userId: r.userId };
});
