import type { Metadata } from "next";
import { HydrateClient, prefetch, trpc } from "~/trpc/server";
import { UpstreamList } from "./upstream-list";

export const metadata: Metadata = { title: "Upstreams" };

export default function UpstreamsPage() {
  prefetch(trpc.overview.get.queryOptions());
  return (
    <HydrateClient>
      <UpstreamList />
    </HydrateClient>
  );
}
