import { effectiveConfig } from "@rg/db";
import { viewerProcedure } from "../../trpc";

/** The effective config (bootstrap ⊕ live overrides) and the overrides that shape it. */
export const get = viewerProcedure.query(({ ctx }) => {
  const eff = effectiveConfig(ctx.store, ctx.now());
  if ("config" in eff) {
    return {
      revision: eff.revision,
      config: eff.config,
      overrides: eff.overrides,
      issues: null,
    };
  }
  return { revision: eff.revision, config: null, overrides: [], issues: eff.issues };
});
