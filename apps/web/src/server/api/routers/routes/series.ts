import { ownEntry } from "@rg/core";
import { readSliSeries } from "@rg/db";
import { currentConfig } from "../../lib/changes";
import { viewerProcedure } from "../../trpc";
import { routeSeriesInput } from "./series.schema";

/** Charts for one route: SLI points and its SLO targets. */
export const series = viewerProcedure.input(routeSeriesInput).query(({ ctx, input }) => {
  const { config } = currentConfig(ctx.store, ctx.now());
  const route = ownEntry(config.routes, input.id);
  return {
    points: readSliSeries(ctx.store, { route: input.id, from: input.from, to: input.to }),
    upstream: route?.upstream ?? null,
    slo: route?.slo ?? null,
  };
});
