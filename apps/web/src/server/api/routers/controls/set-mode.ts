import { applyMode, currentConfig } from "../../lib/changes";
import { actorOf, operatorProcedure, refuseIssues } from "../../trpc";
import { setModeInput } from "./set-mode.schema";

/** Switch the whole gateway or one route to normal / degraded / read-only. */
export const setMode = operatorProcedure.input(setModeInput).mutation(({ ctx, input }) => {
  const now = ctx.now();
  if (input.scope === "route" && input.target) {
    const { config } = currentConfig(ctx.store, now);
    if (!Object.hasOwn(config.routes, input.target)) {
      refuseIssues([{ path: `routes.${input.target}`, message: "unknown route" }]);
    }
  }
  const r = applyMode(
    ctx.store,
    {
      scope: input.scope,
      mode: input.mode,
      ...(input.target !== undefined ? { target: input.target } : {}),
    },
    {
      ...actorOf(ctx),
      reason: input.reason,
      now,
      ...(input.ttlMs !== undefined ? { ttlMs: input.ttlMs } : {}),
    },
  );
  if (!r.ok) refuseIssues(r.issues);
  return { ok: true as const, revision: r.revision };
});
