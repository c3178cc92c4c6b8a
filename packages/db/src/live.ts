import type { BreakerSnapshot, InstanceSnapshot } from "@rg/core";
import { desc } from "drizzle-orm";
import { instances } from "./schema";
import { prepared } from "./sli";
import type { Store } from "./store";

/** An instance whose last heartbeat is younger than this is alive. */
export const ALIVE_MS = 5000;

export const SNAPSHOT_UPSERT_SQL =
  "INSERT INTO instances (instance_id, heartbeat_at, snapshot) VALUES (?, ?, ?) ON CONFLICT(instance_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, snapshot = excluded.snapshot";

/** Upsert the instance's live state; `s.at` is its heartbeat. */
export function writeSnapshot(store: Store, s: InstanceSnapshot): void {
  prepared(store, SNAPSHOT_UPSERT_SQL).run(s.instanceId, s.at, JSON.stringify(s));
}

export interface InstanceState {
  instanceId: string;
  heartbeatAt: number;
  ageMs: number;
  alive: boolean;
  snapshot: InstanceSnapshot;
}

/** Every instance that ever reported, newest heartbeat first. */
export function readInstances(store: Store, now = Date.now()): InstanceState[] {
  return store.db
    .select()
    .from(instances)
    .orderBy(desc(instances.heartbeatAt))
    .all()
    .map((r) => {
      const ageMs = Math.max(0, now - r.heartbeatAt);
      return {
        instanceId: r.instanceId,
        heartbeatAt: r.heartbeatAt,
        ageMs,
        alive: ageMs < ALIVE_MS,
        snapshot: JSON.parse(r.snapshot) as InstanceSnapshot,
      };
    });
}

export type CircuitState = BreakerSnapshot & { instanceId: string; heartbeatAt: number };

/** Breaker snapshots of every live instance, flattened, ordered by upstream then name. */
export function readCircuitStates(store: Store, now = Date.now()): CircuitState[] {
  const out: CircuitState[] = [];
  for (const inst of readInstances(store, now)) {
    if (!inst.alive) continue;
    for (const up of Object.values(inst.snapshot.upstreams ?? {}))
      for (const b of up.breakers)
        out.push({ ...b, instanceId: inst.instanceId, heartbeatAt: inst.heartbeatAt });
  }
  return out.sort(
    (a, b) =>
      a.upstream.localeCompare(b.upstream) ||
      a.name.localeCompare(b.name) ||
      a.instanceId.localeCompare(b.instanceId),
  );
}
