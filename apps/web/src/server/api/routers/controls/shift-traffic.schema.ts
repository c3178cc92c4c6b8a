import { idSchema, upstreamSchema } from "@rg/core";
import { z } from "zod";
import { reasonSchema } from "../../lib/inputs";

export const shiftTrafficInput = z
  .object({
    route: idSchema,
    to: idSchema,
    percent: z.number().min(0).max(100),
    durationMs: upstreamSchema.shape.weightShiftMs.unwrap(),
    reason: reasonSchema,
  })
  .strict();
