import type { Metadata } from "next";
import { caller, getQueryClient, HydrateClient, trpc } from "~/trpc/server";
import { UsersView } from "./users-view";

export const metadata: Metadata = { title: "Users" };

export default async function UsersPage() {
  const me = await (await caller()).me().catch(() => null);
  if (me?.role !== "admin") {
    return (
      <>
        <h1>Users</h1>
        <div role="alert" className="alert error">
          Only admins can manage users. Your role: {me?.role ?? "none"}.
        </div>
      </>
    );
  }
  await getQueryClient().prefetchQuery(trpc.users.list.queryOptions());
  return (
    <HydrateClient>
      <UsersView />
    </HydrateClient>
  );
}
