import { createTRPCRouter } from "../../trpc";
import { series } from "./series";

export const routesRouter = createTRPCRouter({ series });
