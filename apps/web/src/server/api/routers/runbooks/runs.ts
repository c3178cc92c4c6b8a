import { listRunbookRuns } from "@rg/db";
import { viewerProcedure } from "../../trpc";
import { runbookRunsInput } from "./schemas";

/** Recent runs (of one runbook, or all), newest first, with step statuses. */
export const runs = viewerProcedure.input(runbookRunsInput).query(({ ctx, input }) =>
  listRunbookRuns(ctx.store, {
    limit: input?.limit ?? 20,
    ...(input?.id !== undefined ? { runbook: input.id } : {}),
  }),
);
