"use client";
/**
 * Client-side tRPC: `TRPCReactProvider` (wrap the app once) and `useTRPC()`, which gives
 * `queryOptions` / `mutationOptions` for TanStack Query:
 *   const trpc = useTRPC();
 *   const overview = useQuery({ ...trpc.overview.get.queryOptions(), refetchInterval: 1500 });
 *   const setMode = useMutation(trpc.controls.setMode.mutationOptions());
 */
import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { useState, type ReactNode } from "react";
import superjson from "superjson";
import type { AppRouter } from "~/server/api/root";
import { makeQueryClient } from "./query-client";

export type { RouterInputs, RouterOutputs } from "~/server/api/root";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

let browserQueryClient: QueryClient | undefined;

function getQueryClient(): QueryClient {
  // On the server every request gets its own client; in the browser one lives for the page.
  if (typeof window === "undefined") return makeQueryClient();
  browserQueryClient ??= makeQueryClient();
  return browserQueryClient;
}

export function TRPCReactProvider({ children }: { children: ReactNode }) {
  const queryClient = getQueryClient();
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        httpBatchLink({
          url: "/api/trpc",
          transformer: superjson,
          maxURLLength: 4000,
          fetch: (url, init) => fetch(url, { ...init, credentials: "same-origin" }),
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
