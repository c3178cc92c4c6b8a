/**
 * tRPC for server components: `trpc` (options proxy calling procedures in-process with the
 * request's session), `prefetch(...)` then `<HydrateClient>` so client components start with
 * data, and `caller()` for a direct call.
 *   prefetch(trpc.overview.get.queryOptions());
 *   return <HydrateClient><Overview /></HydrateClient>;
 */
import "server-only";
import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import { createTRPCOptionsProxy, type TRPCQueryOptions } from "@trpc/tanstack-react-query";
import { headers } from "next/headers";
import { cache, type ReactNode } from "react";
import { appRouter, createCaller } from "~/server/api/root";
import { createTRPCContext } from "~/server/api/trpc";
import { getAuth } from "~/server/auth";
import { getStore } from "~/server/db";
import { makeQueryClient } from "./query-client";

export type { RouterInputs, RouterOutputs } from "~/server/api/root";

const createContext = cache(async () => {
  const h = new Headers(await headers());
  h.set("x-trpc-source", "rsc");
  return createTRPCContext({ headers: h, store: getStore(), auth: getAuth() });
});

/** One query client per request. */
export const getQueryClient = cache(makeQueryClient);

export const trpc = createTRPCOptionsProxy({
  ctx: createContext,
  router: appRouter,
  queryClient: getQueryClient,
});

/** A direct server-side caller with the request's session. */
export async function caller() {
  return createCaller(await createContext());
}

export function HydrateClient({ children }: { children: ReactNode }) {
  return <HydrationBoundary state={dehydrate(getQueryClient())}>{children}</HydrationBoundary>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function prefetch<T extends ReturnType<TRPCQueryOptions<any>>>(queryOptions: T): void {
  const queryClient = getQueryClient();
  if (queryOptions.queryKey[1]?.type === "infinite") {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    void queryClient.prefetchInfiniteQuery(queryOptions as any);
  } else {
    void queryClient.prefetchQuery(queryOptions);
  }
}
