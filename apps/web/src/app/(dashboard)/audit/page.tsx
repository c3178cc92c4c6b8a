import type { Metadata } from "next";
import { HydrateClient, prefetch, trpc } from "~/trpc/server";
import { AuditView } from "./audit-view";

export const metadata: Metadata = { title: "Audit log" };

export default function AuditPage() {
  prefetch(trpc.audit.filters.queryOptions());
  prefetch(trpc.audit.list.queryOptions({ limit: 25 }));
  return (
    <HydrateClient>
      <AuditView />
    </HydrateClient>
  );
}
