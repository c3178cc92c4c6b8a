import { ownEntry } from "@rg/core";
import { readSliSeries } from "@rg/db";
import { breakerStrip } from "../../lib/strip";
import { viewConfig } from "../../lib/changes";
import { viewerProcedure } from "../../trpc";
import { seriesInput } from "./series.schema";

/** Charts for one upstream: SLI points, the breaker's state over time, and its thresholds. */
export const series = viewerProcedure.input(seriesInput).query(({ ctx, input }) => {
  const { config } = viewConfig(ctx.store, ctx.now());
  const cb = ownEntry(config.upstreams, input.id)?.circuitBreaker;
  return {
    points: readSliSeries(ctx.store, { upstream: input.id, from: input.from, to: input.to }),
    breakerStrip: breakerStrip(ctx.store, input.id, input.from, input.to),
    thresholds: cb
      ? {
          failureRatePercent: cb.failureRateThreshold,
          slowCallRatePercent: cb.slowCallRateThreshold,
          slowCallDurationMs: cb.slowCallDurationMs,
        }
      : null,
  };
});
