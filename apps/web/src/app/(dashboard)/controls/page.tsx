import type { Metadata } from "next";
import { caller, getQueryClient, HydrateClient, trpc } from "~/trpc/server";
import { ControlsView } from "./controls-view";

export const metadata: Metadata = { title: "Controls" };

export default async function ControlsPage() {
  const me = await (await caller()).me().catch(() => null);
  if (!me || (me.role !== "operator" && me.role !== "admin")) {
    return (
      <>
        <h1>Controls</h1>
        <div role="alert" className="alert error">
          <strong>Operators only.</strong> Your role ({me?.role ?? "none"}) can read the dashboard
          but cannot change thresholds, modes, breakers or traffic. Ask an operator or an admin.
        </div>
      </>
    );
  }
  await getQueryClient().prefetchQuery(trpc.config.get.queryOptions());
  return (
    <HydrateClient>
      <ControlsView />
    </HydrateClient>
  );
}
