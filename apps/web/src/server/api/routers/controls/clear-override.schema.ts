import { z } from "zod";
import { overridePathSchema, reasonSchema } from "../../lib/inputs";

export const clearOverrideInput = z
  .object({ path: overridePathSchema, reason: reasonSchema })
  .strict();
