import type { Metadata } from "next";
import { getQueryClient, HydrateClient, trpc } from "~/trpc/server";
import { AuditView } from "./audit-view";

export const metadata: Metadata = { title: "Audit log" };

export default async function AuditPage() {
  const qc = getQueryClient();
  await Promise.all([
    qc.prefetchQuery(trpc.audit.filters.queryOptions()),
    qc.prefetchQuery(trpc.audit.list.queryOptions({ limit: 25 })),
  ]);
  return (
    <HydrateClient>
      <AuditView />
    </HydrateClient>
  );
}
