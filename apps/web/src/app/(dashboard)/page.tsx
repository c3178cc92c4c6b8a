import type { Metadata } from "next";
import { HydrateClient, prefetch, trpc } from "~/trpc/server";
import { OverviewView } from "./overview-view";

export const metadata: Metadata = { title: "Overview" };

export default function OverviewPage() {
  prefetch(trpc.overview.get.queryOptions());
  prefetch(trpc.incidents.list.queryOptions({ status: "open" }));
  return (
    <HydrateClient>
      <OverviewView />
    </HydrateClient>
  );
}
