import { currentConfig } from "../../lib/changes";
import { describeStep } from "../../lib/runbooks";
import { viewerProcedure } from "../../trpc";

/** Runbooks defined in the config, with a readable line per step. */
export const list = viewerProcedure.query(({ ctx }) => {
  const { config } = currentConfig(ctx.store, ctx.now());
  return Object.entries(config.runbooks).map(([id, rb]) => ({
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
});
