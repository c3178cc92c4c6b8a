import { viewConfig } from "../../lib/changes";
import { describeStep } from "../../lib/runbooks";
import { viewerProcedure } from "../../trpc";

/**
 * Runbooks defined in the config, with a readable line per step; from the last valid config
 * (`fallback`) while the stored one does not validate.
 */
export const list = viewerProcedure.query(({ ctx }) => {
  const { config, fallback } = viewConfig(ctx.store, ctx.now());
  const runbooks = Object.entries(config.runbooks).map(([id, rb]) => ({
    id,
    title: rb.title,
    description: rb.description,
    steps: rb.steps.map((s, i) => ({
      step: i,
      action: s.action,
      description: describeStep(s),
      spec: s,
    })),
  }));
  return { runbooks, fallback };
});
