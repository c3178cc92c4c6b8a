import { z } from "zod";
import { roleSchema } from "../../../auth/roles";

export const createUserInput = z
  .object({
    email: z.email().max(320),
    name: z.string().trim().min(1).max(200),
    password: z.string().min(12, "at least 12 characters").max(256),
    role: roleSchema,
  })
  .strict();

export const setRoleInput = z
  .object({ userId: z.string().min(1).max(100), role: roleSchema })
  .strict();

export const removeUserInput = z.object({ userId: z.string().min(1).max(100) }).strict();
