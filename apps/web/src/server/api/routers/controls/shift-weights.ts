import { ownEntry } from "@rg/core";
import { TRPCError } from "@trpc/server";
import { applyChanges, currentConfig, type PlannedChange } from "../../lib/changes";
import { actorOf, operatorProcedure, refuseIssues } from "../../trpc";
import { shiftWeightsInput } from "./shift-weights.schema";

/** Move an upstream's endpoint weights to new values, gradually over durationMs. */
export const shiftWeights = operatorProcedure
  .input(shiftWeightsInput)
  .mutation(({ ctx, input }) => {
    const now = ctx.now();
    const { config } = currentConfig(ctx.store, now);
    const upstream = ownEntry(config.upstreams, input.upstream);
    if (!upstream) throw new TRPCError({ code: "NOT_FOUND", message: "unknown upstream" });
    const unknown = Object.keys(input.weights).filter((e) => !Object.hasOwn(upstream.endpoints, e));
    if (unknown.length > 0) {
      refuseIssues(
        unknown.map((e) => ({
          path: `upstreams.${input.upstream}.endpoints.${e}`,
          message: "unknown endpoint",
        })),
      );
    }
    const changes: PlannedChange[] = [];
    if (upstream.weightShiftMs !== input.durationMs) {
      changes.push({
        path: `upstreams.${input.upstream}.weightShiftMs`,
        value: input.durationMs,
        action: "weights.shift",
      });
    }
    for (const [endpoint, weight] of Object.entries(input.weights)) {
      changes.push({
        path: `upstreams.${input.upstream}.endpoints.${endpoint}.weight`,
        value: weight,
        action: "weights.shift",
      });
    }
    const r = applyChanges(ctx.store, changes, { ...actorOf(ctx), reason: input.reason, now });
    if (!r.ok) refuseIssues(r.issues);
    return { ok: true as const, revision: r.revision };
  });
