import { clearOverride as clearStoredOverride } from "@rg/db";
import { explainRefusal } from "../../lib/changes";
import { actorOf, operatorProcedure, refuseIssues } from "../../trpc";
import { clearOverrideInput } from "./clear-override.schema";

/**
 * End the live override at a path: the bootstrap value applies again. While the stored config
 * does not validate, clearing an override it does not validate with is how to fix it.
 */
export const clearOverride = operatorProcedure
  .input(clearOverrideInput)
  .mutation(({ ctx, input }) => {
    const now = ctx.now();
    const r = clearStoredOverride(ctx.store, {
      path: input.path,
      reason: input.reason,
      ...actorOf(ctx),
      now,
    });
    if (!r.ok) refuseIssues(explainRefusal(ctx.store, now, r).issues);
    return { ok: true as const, revision: r.revision };
  });
