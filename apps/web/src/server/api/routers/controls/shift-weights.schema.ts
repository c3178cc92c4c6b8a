import { endpointSchema, idSchema, upstreamSchema } from "@rg/core";
import { z } from "zod";
import { reasonSchema } from "../../lib/inputs";

export const shiftWeightsInput = z
  .object({
    upstream: idSchema,
    weights: z
      .record(idSchema, endpointSchema.shape.weight.unwrap())
      .refine((w) => Object.keys(w).length > 0, "name at least one endpoint"),
    durationMs: upstreamSchema.shape.weightShiftMs.unwrap(),
    reason: reasonSchema,
  })
  .strict();
