import { z } from "zod";
import { overridePathSchema, reasonSchema, ttlSchema } from "../../lib/inputs";

/** The config revision an operator's form was built from (`config.get`'s revision). */
export const baseRevisionSchema = z.number().int().min(0);

export const setValueInput = z
  .object({
    path: overridePathSchema,
    value: z.unknown(),
    reason: reasonSchema,
    ttlMs: ttlSchema,
    /** The revision the operator's form was built from; refused as CONFLICT when stale. */
    baseRevision: baseRevisionSchema.optional(),
  })
  .strict();
