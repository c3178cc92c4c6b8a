import { z } from "zod";

export const appliedInput = z.object({ revision: z.number().int().min(0) }).strict();
