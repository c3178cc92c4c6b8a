import { queryAudit } from "@rg/db";
import { viewerProcedure } from "../../trpc";

/** Distinct actors, actions and recent targets for the audit filter pickers. */
export const filters = viewerProcedure.query(({ ctx }) => {
  const page = queryAudit(ctx.store, { limit: 1000 });
  const targets = [...new Set(page.rows.map((r) => r.target))].sort();
  return { actors: page.actors, actions: page.actions, targets };
});
