import { ownEntry, type BulkheadSnapshot } from "@rg/core";
import { readInstances } from "@rg/db";
import { TRPCError } from "@trpc/server";
import { viewConfig } from "../../lib/changes";
import { viewerProcedure } from "../../trpc";
import { upstreamGetInput } from "./get.schema";

/**
 * One upstream: its config and live state from every live gateway instance. While the stored
 * config does not validate, its config is the last valid one (`fallback` says so).
 */
export const get = viewerProcedure.input(upstreamGetInput).query(({ ctx, input }) => {
  const now = ctx.now();
  const { revision, config, fallback } = viewConfig(ctx.store, now);
  const upstreamConfig = ownEntry(config.upstreams, input.id);
  if (!upstreamConfig) throw new TRPCError({ code: "NOT_FOUND", message: "unknown upstream" });
  const live = readInstances(ctx.store, now).filter((i) => i.alive);
  const states = live.flatMap((i) => {
    const u = ownEntry(i.snapshot.upstreams, input.id);
    return u ? [{ instanceId: i.instanceId, state: u }] : [];
  });
  const bulkhead: BulkheadSnapshot | null =
    states.length === 0
      ? null
      : states.reduce<BulkheadSnapshot>(
          (acc, s) => ({
            inFlight: acc.inFlight + s.state.bulkhead.inFlight,
            queued: acc.queued + s.state.bulkhead.queued,
            maxConcurrent: acc.maxConcurrent + s.state.bulkhead.maxConcurrent,
            maxQueue: acc.maxQueue + s.state.bulkhead.maxQueue,
            rejected: acc.rejected + s.state.bulkhead.rejected,
          }),
          { inFlight: 0, queued: 0, maxConcurrent: 0, maxQueue: 0, rejected: 0 },
        );
  const retryBudget =
    states.length === 0
      ? null
      : states.reduce(
          (acc, s) => ({
            active: acc.active + s.state.retryBudget.active,
            retrying: acc.retrying + s.state.retryBudget.retrying,
            exhausted: acc.exhausted + s.state.retryBudget.exhausted,
          }),
          { active: 0, retrying: 0, exhausted: 0 },
        );
  return {
    id: input.id,
    revision,
    fallback,
    config: upstreamConfig,
    routes: Object.entries(config.routes)
      .filter(([, r]) => r.upstream === input.id)
      .map(([id]) => id),
    breakers: states.flatMap((s) =>
      s.state.breakers.map((b) => ({ ...b, instanceId: s.instanceId })),
    ),
    endpoints: states.flatMap((s) =>
      s.state.endpoints.map((e) => ({ ...e, instanceId: s.instanceId })),
    ),
    bulkhead,
    retryBudget,
    instances: live.length,
  };
});
