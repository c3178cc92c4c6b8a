import { listIncidents } from "@rg/db";
import { viewerProcedure } from "../../trpc";
import { incidentListInput } from "./list.schema";

/** Incidents, open first then newest, with their duration so far. */
export const list = viewerProcedure.input(incidentListInput).query(({ ctx, input }) => {
  const now = ctx.now();
  return listIncidents(ctx.store, {
    ...(input?.status !== undefined ? { status: input.status } : {}),
    limit: input?.limit ?? 100,
  }).map((i) => ({ ...i, durationMs: (i.resolvedAt ?? now) - i.openedAt }));
});
