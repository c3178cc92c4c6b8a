import { applyChanges, refuseChange } from "../../lib/changes";
import { actorOf, operatorProcedure } from "../../trpc";
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
      ...(input.baseRevision !== undefined ? { baseRevision: input.baseRevision } : {}),
    },
  );
  if (!r.ok) refuseChange(r);
  return { ok: true as const, revision: r.revision };
});
