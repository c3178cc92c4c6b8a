import type { Metadata } from "next";
import { HydrateClient, prefetch, trpc } from "~/trpc/server";
import { RunbooksView } from "./runbooks-view";

export const metadata: Metadata = { title: "Runbooks" };

export default function RunbooksPage() {
  prefetch(trpc.runbooks.list.queryOptions());
  prefetch(trpc.runbooks.runs.queryOptions());
  return (
    <HydrateClient>
      <RunbooksView />
    </HydrateClient>
  );
}
