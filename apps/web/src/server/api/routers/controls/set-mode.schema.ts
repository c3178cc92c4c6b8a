import { idSchema, modeSchema } from "@rg/core";
import { z } from "zod";
import { reasonSchema, ttlSchema } from "../../lib/inputs";

export const setModeInput = z
  .object({
    scope: z.enum(["gateway", "route"]),
    target: idSchema.optional(),
    mode: modeSchema,
    reason: reasonSchema,
    ttlMs: ttlSchema,
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.scope === "route" && !v.target)
      ctx.addIssue({ code: "custom", path: ["target"], message: "a route id is required" });
    if (v.scope === "gateway" && v.target)
      ctx.addIssue({ code: "custom", path: ["target"], message: "not used for the gateway scope" });
  });
