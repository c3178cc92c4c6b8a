import { z } from "zod";
import { overridePathSchema } from "../../lib/inputs";

export const previewInput = z.object({ path: overridePathSchema, value: z.unknown() }).strict();
