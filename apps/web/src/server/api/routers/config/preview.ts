import { getAtPath } from "@rg/core";
import { currentConfig, simulate } from "../../lib/changes";
import { viewerProcedure } from "../../trpc";
import { previewInput } from "./preview.schema";

/** Validate a change without writing it: inline validation for the controls form. */
export const preview = viewerProcedure.input(previewInput).query(({ ctx, input }) => {
  const { revision, config } = currentConfig(ctx.store, ctx.now());
  const before = getAtPath(config, input.path);
  const sim = simulate(config, [{ path: input.path, value: input.value, action: "preview" }]);
  return {
    ok: sim.ok,
    revision,
    before,
    after: sim.ok ? (sim.steps[0]?.after ?? input.value) : input.value,
    issues: sim.issues,
  };
});
