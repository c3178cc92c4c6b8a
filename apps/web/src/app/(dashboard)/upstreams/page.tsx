import type { Metadata } from "next";
import { getQueryClient, HydrateClient, trpc } from "~/trpc/server";
import { UpstreamList } from "./upstream-list";

export const metadata: Metadata = { title: "Upstreams" };

export default async function UpstreamsPage() {
  await getQueryClient().prefetchQuery(trpc.overview.get.queryOptions());
  return (
    <HydrateClient>
      <UpstreamList />
    </HydrateClient>
  );
}
