import { applyChanges } from "../../lib/changes";
import { actorOf, operatorProcedure, refuseIssues } from "../../trpc";
import { setFaultInjectionInput } from "./set-fault-injection.schema";

/** Inject delays and aborts on a route (all zero turns it off). */
export const setFaultInjection = operatorProcedure
  .input(setFaultInjectionInput)
  .mutation(({ ctx, input }) => {
    const { route, reason, ttlMs, ...fault } = input;
    const r = applyChanges(
      ctx.store,
      [{ path: `routes.${route}.faultInjection`, value: fault, action: "faults.set" }],
      {
        ...actorOf(ctx),
        reason,
        now: ctx.now(),
        ...(ttlMs !== undefined ? { ttlMs } : {}),
      },
    );
    if (!r.ok) refuseIssues(r.issues);
    return { ok: true as const, revision: r.revision };
  });
