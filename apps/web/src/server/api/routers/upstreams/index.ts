import { createTRPCRouter } from "../../trpc";
import { get } from "./get";
import { series } from "./series";

export const upstreamsRouter = createTRPCRouter({ get, series });
