/** Input pieces shared by several procedures. */
import { z } from "zod";

export const reasonSchema = z
  .string()
  .trim()
  .min(1, "a reason is required")
  .max(500, "keep the reason under 500 characters");

/** Optional expiry of an operator change: 1 s to 30 days. */
export const ttlSchema = z
  .number()
  .int()
  .min(1000, "at least 1 s")
  .max(30 * 86_400_000, "at most 30 days")
  .optional();

export const overridePathSchema = z
  .string()
  .min(1)
  .max(300)
  .regex(
    /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/,
    "a dotted config path, e.g. routes.api.retry.maxAttempts",
  );

const MAX_SPAN_MS = 31 * 86_400_000;

/** A time range in wall ms, at most 31 days. */
export const timeRangeShape = {
  from: z.number().int().min(0),
  to: z.number().int().min(0),
};

export function checkRange(v: { from: number; to: number }, ctx: z.RefinementCtx): void {
  if (v.to <= v.from) ctx.addIssue({ code: "custom", path: ["to"], message: "must be after from" });
  else if (v.to - v.from > MAX_SPAN_MS)
    ctx.addIssue({ code: "custom", path: ["to"], message: "range is at most 31 days" });
}
