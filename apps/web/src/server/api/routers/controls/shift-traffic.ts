import { applyChanges } from "../../lib/changes";
import { actorOf, operatorProcedure, refuseIssues } from "../../trpc";
import { shiftTrafficInput } from "./shift-traffic.schema";

/** Send a share of a route's traffic to another upstream (e.g. its fallback), ramped. */
export const shiftTraffic = operatorProcedure
  .input(shiftTrafficInput)
  .mutation(({ ctx, input }) => {
    const r = applyChanges(
      ctx.store,
      [
        {
          path: `routes.${input.route}.shift`,
          value: { to: input.to, percent: input.percent, durationMs: input.durationMs },
          action: "traffic.shift",
        },
      ],
      { ...actorOf(ctx), reason: input.reason, now: ctx.now() },
    );
    if (!r.ok) refuseIssues(r.issues);
    return { ok: true as const, revision: r.revision };
  });
