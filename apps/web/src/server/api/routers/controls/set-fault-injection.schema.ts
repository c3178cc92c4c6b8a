import { faultInjectionSchema, idSchema } from "@rg/core";
import { z } from "zod";
import { reasonSchema, ttlSchema } from "../../lib/inputs";

const f = faultInjectionSchema.shape;

export const setFaultInjectionInput = z
  .object({
    route: idSchema,
    delayPercent: f.delayPercent.unwrap(),
    delayMs: f.delayMs.unwrap(),
    abortPercent: f.abortPercent.unwrap(),
    abortStatus: f.abortStatus.unwrap(),
    reason: reasonSchema,
    ttlMs: ttlSchema,
  })
  .strict();
