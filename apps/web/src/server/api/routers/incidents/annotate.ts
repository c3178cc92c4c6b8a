import { annotateIncident } from "@rg/db";
import { TRPCError } from "@trpc/server";
import { operatorProcedure } from "../../trpc";
import { annotateInput } from "./id.schema";

export const annotate = operatorProcedure.input(annotateInput).mutation(({ ctx, input }) => {
  const r = annotateIncident(ctx.store, {
    id: input.id,
    author: ctx.user.email,
    body: input.body,
    role: ctx.user.role,
    now: ctx.now(),
  });
  if (!r.ok) throw new TRPCError({ code: "BAD_REQUEST", message: r.error });
  return { ok: true as const, noteId: r.noteId };
});
