import type { Metadata } from "next";
import { getQueryClient, HydrateClient, trpc } from "~/trpc/server";
import { OverviewView } from "./overview-view";

export const metadata: Metadata = { title: "Overview" };

export default async function OverviewPage() {
  const qc = getQueryClient();
  await Promise.all([
    qc.prefetchQuery(trpc.overview.get.queryOptions()),
    qc.prefetchQuery(trpc.incidents.list.queryOptions({ status: "open" })),
  ]);
  return (
    <HydrateClient>
      <OverviewView />
    </HydrateClient>
  );
}
