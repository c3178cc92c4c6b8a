import { z } from "zod";
import { overridePathSchema, reasonSchema, ttlSchema } from "../../lib/inputs";

export const setValueInput = z
  .object({ path: overridePathSchema, value: z.unknown(), reason: reasonSchema, ttlMs: ttlSchema })
  .strict();
