import { closeQuietIncidents } from "./incidents";
import { rollupMinutes, runRetention, type RetentionOptions, type RetentionResult } from "./sli";
import type { Store } from "./store";

export interface MaintenanceResult {
  rolledUpMinutes: number;
  closedIncidents: number[];
  retention?: RetentionResult;
}

/**
 * Periodic upkeep: roll completed seconds up to minutes and hours (a bounded span per call),
 * resolve quiet incidents, and (when `retention` is given) delete rows past their retention.
 */
export function runMaintenance(
  store: Store,
  opts: { now?: number; quietMs?: number; retention?: RetentionOptions | boolean } = {},
): MaintenanceResult {
  const now = opts.now ?? Date.now();
  const rolled = rollupMinutes(store, now);
  const closedIncidents = closeQuietIncidents(store, {
    now,
    ...(opts.quietMs !== undefined ? { quietMs: opts.quietMs } : {}),
  });
  const result: MaintenanceResult = { rolledUpMinutes: rolled.minutes, closedIncidents };
  if (opts.retention)
    result.retention = runRetention(store, {
      now,
      ...(typeof opts.retention === "object" ? opts.retention : {}),
    });
  return result;
}
