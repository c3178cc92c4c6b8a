import { publicProcedure } from "../trpc";

/** Liveness for load balancers and the e2e harness; reveals nothing. */
export const health = publicProcedure.query(() => ({ ok: true as const }));
