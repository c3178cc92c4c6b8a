import { closeQuietIncidents } from "./incidents";
import { rollupMinutes, runRetention, type RetentionOptions, type RetentionResult } from "./sli";
import type { Store } from "./store";

export interface MaintenanceResult {
  rolledUpMinutes: number;
  closedIncidents: number[];
  retention?: RetentionResult;
}

/** The store is locked by another connection: the next step would only wait on it too. */
function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return (
    typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))
  );
}

/**
 * Periodic upkeep: roll completed seconds up to minutes and hours (a bounded span per call),
 * resolve quiet incidents, and (when `retention` is given) delete rows past their retention.
 * Each step runs even when an earlier one failed, unless the store is locked: a roll-up or an
 * incident that keeps failing must not stop retention, or the file would grow without end.
 * The first failure is thrown once every step has had its turn.
 */
export function runMaintenance(
  store: Store,
  opts: { now?: number; quietMs?: number; retention?: RetentionOptions | boolean } = {},
): MaintenanceResult {
  const now = opts.now ?? Date.now();
  let failure: { error: unknown } | undefined;
  const step = <T>(fn: () => T, otherwise: T): T => {
    if (failure && isBusy(failure.error)) return otherwise;
    try {
      return fn();
    } catch (error) {
      failure ??= { error };
      return otherwise;
    }
  };
  const rolledUpMinutes = step(() => rollupMinutes(store, now).minutes, 0);
  const closedIncidents = step(
    () =>
      closeQuietIncidents(store, {
        now,
        ...(opts.quietMs !== undefined ? { quietMs: opts.quietMs } : {}),
      }),
    [] as number[],
  );
  const result: MaintenanceResult = { rolledUpMinutes, closedIncidents };
  const retention = opts.retention;
  if (retention) {
    const r = step(
      () => runRetention(store, { now, ...(typeof retention === "object" ? retention : {}) }),
      undefined,
    );
    if (r) result.retention = r;
  }
  if (failure) throw failure.error;
  return result;
}
