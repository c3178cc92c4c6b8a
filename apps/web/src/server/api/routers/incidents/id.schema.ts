import { z } from "zod";

export const incidentIdInput = z.object({ id: z.number().int().min(1) }).strict();

export const annotateInput = z
  .object({
    id: z.number().int().min(1),
    body: z.string().trim().min(1, "write something").max(4000),
  })
  .strict();

export const resolveInput = z
  .object({
    id: z.number().int().min(1),
    summary: z.string().trim().min(1, "a summary is required").max(4000),
  })
  .strict();
