import { idSchema } from "@rg/core";
import { z } from "zod";
import { reasonSchema } from "../../lib/inputs";

export const runbookIdInput = z.object({ id: idSchema }).strict();
export const runbookRunInput = z.object({ id: idSchema, reason: reasonSchema }).strict();
export const runbookRunsInput = z
  .object({ id: idSchema.optional(), limit: z.number().int().min(1).max(200).optional() })
  .strict()
  .optional();
