import { z } from "zod";

export const incidentStatusSchema = z.enum(["open", "acknowledged", "resolved"]);

export const incidentListInput = z
  .object({
    status: z.union([incidentStatusSchema, z.array(incidentStatusSchema).min(1)]).optional(),
    limit: z.number().int().min(1).max(500).optional(),
  })
  .strict()
  .optional();
