import { z } from "zod";

export const auditListInput = z
  .object({
    actor: z.string().min(1).max(320).optional(),
    action: z.string().min(1).max(100).optional(),
    target: z.string().min(1).max(300).optional(),
    /** The id to continue before (from the previous page's nextCursor). */
    cursor: z.number().int().min(1).optional(),
    limit: z.number().int().min(1).max(200).optional(),
  })
  .strict()
  .optional();
