import { idSchema } from "@rg/core";
import { z } from "zod";
import { checkRange, timeRangeShape } from "../../lib/inputs";

export const seriesInput = z
  .object({ id: idSchema, ...timeRangeShape })
  .strict()
  .superRefine(checkRange);
