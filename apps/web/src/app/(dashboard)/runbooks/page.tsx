import type { Metadata } from "next";
import { getQueryClient, HydrateClient, trpc } from "~/trpc/server";
import { RunbooksView } from "./runbooks-view";

export const metadata: Metadata = { title: "Runbooks" };

export default async function RunbooksPage() {
  const qc = getQueryClient();
  await Promise.all([
    qc.prefetchQuery(trpc.runbooks.list.queryOptions()),
    qc.prefetchQuery(trpc.runbooks.runs.queryOptions()),
  ]);
  return (
    <HydrateClient>
      <RunbooksView />
    </HydrateClient>
  );
}
