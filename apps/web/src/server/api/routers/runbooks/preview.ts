import { TRPCError } from "@trpc/server";
import { findRunbook, previewRunbook } from "../../lib/runbooks";
import { viewerProcedure } from "../../trpc";
import { runbookIdInput } from "./schemas";

/** What running the runbook now would change, step by step (nothing is written). */
export const preview = viewerProcedure.input(runbookIdInput).query(({ ctx, input }) => {
  const now = ctx.now();
  const rb = findRunbook(ctx.store, input.id, now);
  if (!rb) throw new TRPCError({ code: "NOT_FOUND", message: "no such runbook" });
  const steps = previewRunbook(ctx.store, rb, now);
  return {
    id: input.id,
    title: rb.title,
    ok: steps.every((s) => s.issues.length === 0),
    steps,
  };
});
