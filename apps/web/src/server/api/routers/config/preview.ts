import { getAtPath } from "@rg/core";
import { readConfigState, simulateOn } from "../../lib/changes";
import { viewerProcedure } from "../../trpc";
import { previewInput } from "./preview.schema";

/**
 * Validate a change without writing it: inline validation for the controls form. While the
 * stored config does not validate, only a change that makes it validate again passes.
 */
export const preview = viewerProcedure.input(previewInput).query(({ ctx, input }) => {
  const state = readConfigState(ctx.store, ctx.now());
  const { revision } = state;
  const before = getAtPath(state.ok ? state.config : state.input, input.path);
  const sim = simulateOn(state, [{ path: input.path, value: input.value, action: "preview" }]);
  return {
    ok: sim.ok,
    revision,
    before,
    after: sim.ok ? (sim.steps[0]?.after ?? input.value) : input.value,
    issues: sim.issues,
  };
});
