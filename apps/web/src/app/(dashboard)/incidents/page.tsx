import type { Metadata } from "next";
import { HydrateClient, prefetch, trpc } from "~/trpc/server";
import { IncidentList } from "./incident-list";

export const metadata: Metadata = { title: "Incidents" };

export default function IncidentsPage() {
  prefetch(trpc.incidents.list.queryOptions({}));
  return (
    <HydrateClient>
      <IncidentList />
    </HydrateClient>
  );
}
