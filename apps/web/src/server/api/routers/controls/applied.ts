import { currentRevision, readInstances } from "@rg/db";
import { viewerProcedure } from "../../trpc";
import { appliedInput } from "./applied.schema";

/** Whether live gateway instances serve a given revision yet (after a change). */
export const applied = viewerProcedure.input(appliedInput).query(({ ctx, input }) => {
  const instances = readInstances(ctx.store, ctx.now())
    .filter((i) => i.alive)
    .map((i) => ({
      instanceId: i.instanceId,
      revision: i.snapshot.revision,
      applied: i.snapshot.revision >= input.revision,
    }));
  return {
    desired: currentRevision(ctx.store),
    revision: input.revision,
    allApplied: instances.length > 0 && instances.every((i) => i.applied),
    instances,
  };
});
