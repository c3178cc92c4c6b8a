import { getIncident, incidentTimeline } from "@rg/db";
import { TRPCError } from "@trpc/server";
import { viewerProcedure } from "../../trpc";
import { incidentIdInput } from "./id.schema";

const WINDOW_BEFORE_MS = 60_000;

/** One incident with its notes, timeline (events, operator actions, notes in order) and scope. */
export const get = viewerProcedure.input(incidentIdInput).query(({ ctx, input }) => {
  const now = ctx.now();
  const incident = getIncident(ctx.store, input.id);
  if (!incident) throw new TRPCError({ code: "NOT_FOUND", message: "no such incident" });
  return {
    incident,
    timeline: incidentTimeline(ctx.store, input.id, { now }),
    scope: { kind: incident.scopeKind, id: incident.scopeId },
    /** The range to chart beside the timeline. */
    window: { from: incident.openedAt - WINDOW_BEFORE_MS, to: incident.resolvedAt ?? now },
  };
});
