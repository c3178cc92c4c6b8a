/**
 * The mode gate, before any policy runs. The effective mode of a request is the stricter of
 * the gateway's and the route's (read_only > degraded > normal):
 * - read_only refuses unsafe methods (anything but GET, HEAD, OPTIONS) and passes reads;
 * - degraded answers non-critical routes from the cache or a static fallback without calling
 *   the upstream; critical routes pass;
 * - normal passes.
 */
import type { ModeName } from "../config/schema";

export type ModeDecision = "pass" | "reject_read_only" | "serve_degraded";

export interface ModeInput {
  method: string;
  gatewayMode: ModeName;
  routeMode: ModeName;
  criticality: "critical" | "non_critical";
}

const STRICTNESS: Record<ModeName, number> = { normal: 0, degraded: 1, read_only: 2 };

/** The stricter of two modes. */
export function effectiveMode(a: ModeName, b: ModeName): ModeName {
  return STRICTNESS[a] >= STRICTNESS[b] ? a : b;
}

/** Safe methods per RFC 9110 §9.2.1 that read-only mode still serves (TRACE is not proxied). */
export function isSafeMethod(method: string): boolean {
  return method === "GET" || method === "HEAD" || method === "OPTIONS";
}

export function modeDecision(input: ModeInput): ModeDecision {
  const mode = effectiveMode(input.gatewayMode, input.routeMode);
  if (mode === "read_only") return isSafeMethod(input.method) ? "pass" : "reject_read_only";
  if (mode === "degraded") return input.criticality === "critical" ? "pass" : "serve_degraded";
  return "pass";
}
