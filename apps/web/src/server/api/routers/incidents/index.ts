import { createTRPCRouter } from "../../trpc";
import { acknowledge } from "./acknowledge";
import { annotate } from "./annotate";
import { get } from "./get";
import { list } from "./list";
import { resolve } from "./resolve";

export const incidentsRouter = createTRPCRouter({ list, get, acknowledge, annotate, resolve });
