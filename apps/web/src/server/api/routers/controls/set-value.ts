import { applyChanges } from "../../lib/changes";
import { actorOf, operatorProcedure, refuseIssues } from "../../trpc";
import { setValueInput } from "./set-value.schema";

/** Change one threshold/timeout/etc. at a config path. */
export const setValue = operatorProcedure.input(setValueInput).mutation(({ ctx, input }) => {
  const r = applyChanges(
    ctx.store,
    [{ path: input.path, value: input.value, action: "config.set" }],
    {
      ...actorOf(ctx),
      reason: input.reason,
      now: ctx.now(),
      ...(input.ttlMs !== undefined ? { ttlMs: input.ttlMs } : {}),
    },
  );
  if (!r.ok) refuseIssues(r.issues);
  return { ok: true as const, revision: r.revision };
});
