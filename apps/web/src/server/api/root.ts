/** The dashboard API: every area's router merged. RouterInputs/RouterOutputs derive from here. */
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { auditRouter } from "./routers/audit";
import { configRouter } from "./routers/config";
import { controlsRouter } from "./routers/controls";
import { health } from "./routers/health";
import { incidentsRouter } from "./routers/incidents";
import { me } from "./routers/me";
import { overviewRouter } from "./routers/overview";
import { routesRouter } from "./routers/routes";
import { runbooksRouter } from "./routers/runbooks";
import { upstreamsRouter } from "./routers/upstreams";
import { usersRouter } from "./routers/users";
import { createCallerFactory, createTRPCRouter } from "./trpc";

export const appRouter = createTRPCRouter({
  health,
  me,
  overview: overviewRouter,
  upstreams: upstreamsRouter,
  routes: routesRouter,
  config: configRouter,
  controls: controlsRouter,
  runbooks: runbooksRouter,
  incidents: incidentsRouter,
  audit: auditRouter,
  users: usersRouter,
});

export type AppRouter = typeof appRouter;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

export const createCaller = createCallerFactory(appRouter);
