"use client";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "~/trpc/react";

/**
 * After a change: has the gateway picked up the revision yet? Polls until every live
 * instance serves it, then stops.
 */
export function AppliedStatus({ revision }: { revision: number }) {
  const trpc = useTRPC();
  const q = useQuery({
    ...trpc.controls.applied.queryOptions({ revision }),
    refetchInterval: (query) => {
      const d = query.state.data;
      return d && d.instances.length > 0 && d.instances.every((i) => i.applied) ? false : 1000;
    },
  });
  const d = q.data;
  const applied = d && d.instances.length > 0 && d.instances.every((i) => i.applied);
  if (applied) {
    const served = Math.max(...d.instances.map((i) => i.revision));
    return (
      <p role="status" className="alert ok">
        <span aria-hidden="true">✓ </span>Applied by gateway at revision {served}
        {d.instances.length > 1 ? ` (${d.instances.length} instances)` : ""}
      </p>
    );
  }
  return (
    <p role="status" className="alert info">
      <span aria-hidden="true">⏳ </span>
      {d && d.instances.length === 0
        ? `Saved as revision ${revision}; waiting for gateway… (no gateway instance is reporting)`
        : `Saved as revision ${revision}; waiting for gateway…`}
    </p>
  );
}
