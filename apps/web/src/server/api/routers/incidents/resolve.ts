import { resolveIncident } from "@rg/db";
import { TRPCError } from "@trpc/server";
import { operatorProcedure } from "../../trpc";
import { resolveInput } from "./id.schema";

export const resolve = operatorProcedure.input(resolveInput).mutation(({ ctx, input }) => {
  const r = resolveIncident(ctx.store, {
    id: input.id,
    actor: ctx.user.email,
    summary: input.summary,
    role: ctx.user.role,
    now: ctx.now(),
  });
  if (!r.ok) throw new TRPCError({ code: "BAD_REQUEST", message: r.error });
  return { ok: true as const, incident: r.incident };
});
