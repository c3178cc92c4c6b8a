/**
 * Test-only: render a dashboard view wired to the real tRPC router and a test store, signed in
 * with a role. Not imported by the app.
 */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import { createTRPCClient, unstable_localLink } from "@trpc/client";
import type { ReactNode } from "react";
import superjson from "superjson";
import { SessionProvider, type Role } from "~/components/session";
import { appRouter, type AppRouter } from "~/server/api/root";
import type { TestEnv } from "~/server/testing/harness";
import { TRPCProvider } from "~/trpc/react";

export function renderView(env: TestEnv, role: Role, ui: ReactNode, now?: () => number) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const trpcClient = createTRPCClient<AppRouter>({
    links: [
      unstable_localLink({
        router: appRouter,
        transformer: superjson,
        createContext: async () => env.context(role, now ? { now } : {}),
      }),
    ],
  });
  return render(
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <SessionProvider value={{ email: `${role}@example.test`, name: role, role }}>
          {ui}
        </SessionProvider>
      </TRPCProvider>
    </QueryClientProvider>,
  );
}
