import { z } from "zod";
import { overridePathSchema, reasonSchema, ttlSchema } from "../../lib/inputs";
import { baseRevisionSchema } from "./set-value.schema";

export const setFieldsInput = z
  .object({
    /** The object the fields are in, e.g. `upstreams.payments.circuitBreaker`. */
    path: overridePathSchema,
    /** Only the fields the operator changed, by key below `path`. */
    fields: z
      .record(z.string().regex(/^[A-Za-z0-9_-]+$/, "a field name"), z.unknown())
      .refine((f) => Object.keys(f).length > 0, "change at least one field")
      .refine((f) => Object.keys(f).length <= 50, "at most 50 fields at once"),
    reason: reasonSchema,
    ttlMs: ttlSchema,
    /** The revision the operator's form was built from; refused as CONFLICT when stale. */
    baseRevision: baseRevisionSchema,
  })
  .strict();
