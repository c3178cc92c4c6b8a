import { createTRPCRouter } from "../../trpc";
import { get } from "./get";
import { preview } from "./preview";

export const configRouter = createTRPCRouter({ get, preview });
