import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { getQueryClient, HydrateClient, trpc } from "~/trpc/server";
import { IncidentView } from "./incident-view";

export async function generateMetadata({
  params,
}: {
  params: Promise<{ id: string }>;
}): Promise<Metadata> {
  return { title: `Incident #${(await params).id}` };
}

export default async function IncidentPage({ params }: { params: Promise<{ id: string }> }) {
  const id = Number((await params).id);
  if (!Number.isInteger(id) || id < 1) notFound();
  await getQueryClient().prefetchQuery(trpc.incidents.get.queryOptions({ id }));
  return (
    <HydrateClient>
      <IncidentView id={id} />
    </HydrateClient>
  );
}
