import { applyChanges, refuseChange } from "../../lib/changes";
import { actorOf, operatorProcedure } from "../../trpc";
import { setFieldsInput } from "./set-fields.schema";

/**
 * Change some fields of one settings object (the controls page's threshold editor). Each field
 * is its own override, so the fields the operator left alone (a forced breaker state, say) are
 * not copied and stay as other operators set them; all are written as one revision, and
 * refused as CONFLICT when an override at them changed after the form's revision.
 */
export const setFields = operatorProcedure.input(setFieldsInput).mutation(({ ctx, input }) => {
  const r = applyChanges(
    ctx.store,
    Object.entries(input.fields).map(([key, value]) => ({
      path: `${input.path}.${key}`,
      value,
      action: "config.set",
    })),
    {
      ...actorOf(ctx),
      reason: input.reason,
      now: ctx.now(),
      baseRevision: input.baseRevision,
      ...(input.ttlMs !== undefined ? { ttlMs: input.ttlMs } : {}),
    },
  );
  if (!r.ok) refuseChange(r);
  return { ok: true as const, revision: r.revision };
});
