import { formatIssues } from "@rg/core";
import { lastValidConfig } from "@rg/db";
import { readConfigState } from "../../lib/changes";
import { viewerProcedure } from "../../trpc";

/**
 * The effective config (bootstrap ⊕ live overrides) and the overrides that shape it. When it
 * does not validate: `config` is null, `issues` say why, the live overrides are still listed,
 * `invalidOverrides` names those to clear (with the issues each brings), and `lastValid` is
 * the last config that validated, which the gateway keeps serving.
 */
export const get = viewerProcedure.query(({ ctx }) => {
  const now = ctx.now();
  const state = readConfigState(ctx.store, now);
  if (state.ok) {
    return {
      revision: state.revision,
      config: state.config,
      overrides: state.overrides,
      issues: null,
      invalidOverrides: [],
      lastValid: null,
    };
  }
  return {
    revision: state.revision,
    config: null,
    overrides: state.overrides,
    issues: state.issues,
    invalidOverrides: state.invalid.map((o) => ({
      path: o.override.path,
      issues: formatIssues(o.issues),
    })),
    lastValid: lastValidConfig(ctx.store, now),
  };
});
