import { TRPCError } from "@trpc/server";
import { findRunbook, runRunbook } from "../../lib/runbooks";
import { actorOf, operatorProcedure } from "../../trpc";
import { runbookRunInput } from "./schemas";

/** Run a runbook's steps in order; stops at the first failing step. */
export const run = operatorProcedure.input(runbookRunInput).mutation(({ ctx, input }) => {
  const now = ctx.now();
  const rb = findRunbook(ctx.store, input.id, now);
  if (!rb) throw new TRPCError({ code: "NOT_FOUND", message: "no such runbook" });
  return runRunbook(ctx.store, input.id, rb, { ...actorOf(ctx), reason: input.reason }, ctx.now);
});
