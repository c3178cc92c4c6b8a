import { createTRPCRouter } from "../../trpc";
import { create } from "./create";
import { list } from "./list";
import { remove } from "./remove";
import { setRole } from "./set-role";

export const usersRouter = createTRPCRouter({ list, create, setRole, remove });
