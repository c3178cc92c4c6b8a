import { circuitBreakerSchema, idSchema } from "@rg/core";
import { z } from "zod";
import { reasonSchema, ttlSchema } from "../../lib/inputs";

export const forceBreakerInput = z
  .object({
    upstream: idSchema,
    state: circuitBreakerSchema.shape.forcedState.unwrap(),
    reason: reasonSchema,
    ttlMs: ttlSchema,
  })
  .strict();
