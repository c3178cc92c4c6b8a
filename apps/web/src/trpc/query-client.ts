import { defaultShouldDehydrateQuery, QueryClient } from "@tanstack/react-query";
import superjson from "superjson";

/** One factory for the browser and the server, so dehydrated data round-trips through superjson. */
export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Server-rendered data is fresh for a moment; pages poll for live state anyway.
        staleTime: 1000,
        retry: (count, error) => {
          const code = (error as { data?: { code?: string } } | null)?.data?.code;
          if (code === "UNAUTHORIZED" || code === "FORBIDDEN" || code === "BAD_REQUEST") {
            return false;
          }
          return count < 2;
        },
      },
      dehydrate: {
        serializeData: superjson.serialize,
        // Stream pending prefetches to the client too.
        shouldDehydrateQuery: (query) =>
          defaultShouldDehydrateQuery(query) || query.state.status === "pending",
      },
      hydrate: {
        deserializeData: superjson.deserialize,
      },
    },
  });
}
