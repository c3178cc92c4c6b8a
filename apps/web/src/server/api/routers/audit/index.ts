import { createTRPCRouter } from "../../trpc";
import { filters } from "./filters";
import { list } from "./list";

export const auditRouter = createTRPCRouter({ list, filters });
