import type { Fault } from "./behaviour";

/** What a demo service has seen since start or the last reset. */
export interface ServiceStats {
  /** Every request that reached the service, answered or not (health checks included). */
  requests: number;
  /** Of those, requests for /health (a proxy's active health checks). */
  healthChecks: number;
  byMethod: Record<string, number>;
  byPort: Record<string, number>;
  /** Status codes actually sent (a 304 counts as 304). */
  byStatus: Record<string, number>;
  /** Requests that got no complete HTTP answer, by fault. */
  byFault: Partial<Record<Fault, number>>;
}

export function emptyStats(): ServiceStats {
  return { requests: 0, healthChecks: 0, byMethod: {}, byPort: {}, byStatus: {}, byFault: {} };
}

function bump<K extends string>(rec: Partial<Record<K, number>>, key: K): void {
  rec[key] = (rec[key] ?? 0) + 1;
}

export function countRequest(
  stats: ServiceStats,
  method: string,
  port: number,
  health: boolean,
): number {
  stats.requests++;
  if (health) stats.healthChecks++;
  bump(stats.byMethod, method);
  bump(stats.byPort, String(port));
  return stats.requests;
}

export function countStatus(stats: ServiceStats, status: number): void {
  bump(stats.byStatus, String(status));
}

export function countFault(stats: ServiceStats, fault: Fault): void {
  bump(stats.byFault, fault);
}
