import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { Shell } from "~/components/shell";
import { caller } from "~/trpc/server";

/** Every dashboard page needs a session; without one, go to sign-in. */
export default async function DashboardLayout({ children }: { children: ReactNode }) {
  const me = await (await caller()).me().catch(() => null);
  if (!me || !me.role) redirect("/sign-in");
  return (
    <Shell session={{ email: me.user.email, name: me.user.name, role: me.role }}>{children}</Shell>
  );
}
