import { createTRPCRouter } from "../../trpc";
import { get } from "./get";

export const overviewRouter = createTRPCRouter({ get });
