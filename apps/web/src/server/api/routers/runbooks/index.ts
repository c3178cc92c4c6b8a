import { createTRPCRouter } from "../../trpc";
import { list } from "./list";
import { preview } from "./preview";
import { run } from "./run";
import { runs } from "./runs";

export const runbooksRouter = createTRPCRouter({ list, preview, run, runs });
