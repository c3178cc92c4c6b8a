import { acknowledgeIncident } from "@rg/db";
import { TRPCError } from "@trpc/server";
import { operatorProcedure } from "../../trpc";
import { incidentIdInput } from "./id.schema";

export const acknowledge = operatorProcedure.input(incidentIdInput).mutation(({ ctx, input }) => {
  const r = acknowledgeIncident(ctx.store, {
    id: input.id,
    actor: ctx.user.email,
    role: ctx.user.role,
    now: ctx.now(),
  });
  if (!r.ok) throw new TRPCError({ code: "BAD_REQUEST", message: r.error });
  return { ok: true as const, incident: r.incident };
});
