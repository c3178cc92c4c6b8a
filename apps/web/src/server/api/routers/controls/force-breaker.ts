import { applyChanges } from "../../lib/changes";
import { actorOf, operatorProcedure, refuseIssues } from "../../trpc";
import { forceBreakerInput } from "./force-breaker.schema";

/** Hold an upstream's breaker open or closed, shadow it, or release it ("none"). */
export const forceBreaker = operatorProcedure
  .input(forceBreakerInput)
  .mutation(({ ctx, input }) => {
    const r = applyChanges(
      ctx.store,
      [
        {
          path: `upstreams.${input.upstream}.circuitBreaker.forcedState`,
          value: input.state,
          action: input.state === "none" ? "breaker.release" : "breaker.force",
        },
      ],
      {
        ...actorOf(ctx),
        reason: input.reason,
        now: ctx.now(),
        ...(input.ttlMs !== undefined ? { ttlMs: input.ttlMs } : {}),
      },
    );
    if (!r.ok) refuseIssues(r.issues);
    return { ok: true as const, revision: r.revision };
  });
