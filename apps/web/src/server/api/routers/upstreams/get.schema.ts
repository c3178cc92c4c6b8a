import { idSchema } from "@rg/core";
import { z } from "zod";

export const upstreamGetInput = z.object({ id: idSchema }).strict();
