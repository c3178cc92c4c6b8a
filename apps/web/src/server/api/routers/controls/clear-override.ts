import { clearOverride as clearStoredOverride } from "@rg/db";
import { actorOf, operatorProcedure, refuseIssues } from "../../trpc";
import { clearOverrideInput } from "./clear-override.schema";

/** End the live override at a path: the bootstrap value applies again. */
export const clearOverride = operatorProcedure
  .input(clearOverrideInput)
  .mutation(({ ctx, input }) => {
    const r = clearStoredOverride(ctx.store, {
      path: input.path,
      reason: input.reason,
      ...actorOf(ctx),
      now: ctx.now(),
    });
    if (!r.ok) refuseIssues(r.issues);
    return { ok: true as const, revision: r.revision };
  });
