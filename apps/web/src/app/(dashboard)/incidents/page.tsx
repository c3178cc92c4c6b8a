import type { Metadata } from "next";
import { getQueryClient, HydrateClient, trpc } from "~/trpc/server";
import { IncidentList } from "./incident-list";

export const metadata: Metadata = { title: "Incidents" };

export default async function IncidentsPage() {
  await getQueryClient().prefetchQuery(trpc.incidents.list.queryOptions({}));
  return (
    <HydrateClient>
      <IncidentList />
    </HydrateClient>
  );
}
