import type { Metadata } from "next";
import { rangeFor, requestTime, windowById } from "~/lib/windows";
import { getQueryClient, HydrateClient, trpc } from "~/trpc/server";
import { UpstreamView } from "./upstream-view";

export async function generateMetadata({
  params,
}: {
  params: Promise<{ id: string }>;
}): Promise<Metadata> {
  return { title: `Upstream ${(await params).id}` };
}

export default async function UpstreamPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const now = requestTime();
  const w = windowById("15m");
  const qc = getQueryClient();
  await Promise.all([
    qc.prefetchQuery(trpc.upstreams.get.queryOptions({ id })),
    qc.prefetchQuery(trpc.upstreams.series.queryOptions({ id, ...rangeFor(w, now) })),
  ]);
  return (
    <HydrateClient>
      <UpstreamView id={id} initialNow={now} />
    </HydrateClient>
  );
}
