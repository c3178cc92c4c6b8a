import { queryAudit } from "@rg/db";
import { viewerProcedure } from "../../trpc";
import { auditListInput } from "./list.schema";

/** Audit rows newest first; pass nextCursor back as cursor for the next page. */
export const list = viewerProcedure.input(auditListInput).query(({ ctx, input }) => {
  const page = queryAudit(ctx.store, {
    limit: input?.limit ?? 50,
    ...(input?.actor !== undefined ? { actor: input.actor } : {}),
    ...(input?.action !== undefined ? { action: input.action } : {}),
    ...(input?.target !== undefined ? { target: input.target } : {}),
    ...(input?.cursor !== undefined ? { beforeId: input.cursor } : {}),
  });
  return { rows: page.rows, nextCursor: page.nextBeforeId ?? null };
});
