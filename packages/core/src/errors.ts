/**
 * Stable error codes for every answer the gateway generates itself. One table maps a code
 * to its HTTP status and RFC 9457 problem `type`, so gateway, dashboard and docs agree.
 */

export const PROBLEM_BASE = "https://resilience-gateway.dev/problems/";

export const ERROR_CATALOGUE = {
  RG_BAD_REQUEST: { status: 400, type: "bad-request", title: "Bad request" },
  RG_HEADERS_TOO_LARGE: {
    status: 431,
    type: "headers-too-large",
    title: "Request header fields too large",
  },
  RG_BODY_TOO_LARGE: { status: 413, type: "body-too-large", title: "Request body too large" },
  RG_LENGTH_REQUIRED: {
    status: 411,
    type: "length-required",
    title: "This request's body needs a Content-Length",
  },
  RG_TARGET_TOO_LONG: { status: 414, type: "target-too-long", title: "Request target too long" },
  RG_EXPECTATION_FAILED: {
    status: 417,
    type: "expectation-failed",
    title: "Expectation not supported",
  },
  RG_METHOD_NOT_SUPPORTED: {
    status: 501,
    type: "method-not-supported",
    title: "The gateway does not proxy this method",
  },
  RG_VERSION_NOT_SUPPORTED: {
    status: 505,
    type: "version-not-supported",
    title: "HTTP version not supported",
  },
  RG_REQUEST_TIMEOUT: { status: 408, type: "request-timeout", title: "Request timeout" },
  RG_ROUTE_NOT_FOUND: {
    status: 404,
    type: "route-not-found",
    title: "No route matches this request",
  },
  RG_RATE_LIMITED: { status: 429, type: "rate-limited", title: "Too many requests" },
  RG_READ_ONLY: { status: 503, type: "read-only", title: "Service is in read-only mode" },
  RG_DEGRADED: { status: 503, type: "degraded", title: "Service is degraded and has no fallback" },
  RG_BREAKER_OPEN: { status: 503, type: "breaker-open", title: "Upstream circuit breaker is open" },
  RG_BULKHEAD_FULL: {
    status: 503,
    type: "bulkhead-full",
    title: "Upstream is at its concurrency limit",
  },
  RG_NO_HEALTHY_ENDPOINT: {
    status: 503,
    type: "upstream-unavailable",
    title: "No healthy upstream endpoint",
  },
  RG_UPSTREAM_UNAVAILABLE: {
    status: 502,
    type: "upstream-unavailable",
    title: "Upstream unavailable",
  },
  RG_UPSTREAM_TIMEOUT: { status: 504, type: "upstream-timeout", title: "Upstream timed out" },
  RG_DEADLINE_EXCEEDED: {
    status: 504,
    type: "upstream-timeout",
    title: "Request deadline exceeded",
  },
  RG_BAD_UPSTREAM_RESPONSE: {
    status: 502,
    type: "bad-upstream-response",
    title: "Upstream sent an invalid response",
  },
  RG_FAULT_INJECTED: { status: 503, type: "fault-injected", title: "Fault injected by operator" },
  RG_UPGRADE_NOT_ALLOWED: {
    status: 403,
    type: "upgrade-not-allowed",
    title: "This route does not accept this protocol upgrade",
  },
  RG_SHUTTING_DOWN: { status: 503, type: "shutting-down", title: "The gateway is shutting down" },
} as const satisfies Record<string, { status: number; type: string; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: ErrorCode;
  requestId?: string;
  [extension: string]: unknown;
}

/** Build an RFC 9457 problem object for a code. */
export function problemFor(
  code: ErrorCode,
  extra: { detail?: string; requestId?: string; status?: number; [k: string]: unknown } = {},
): Problem {
  const entry = ERROR_CATALOGUE[code];
  return {
    type: PROBLEM_BASE + entry.type,
    title: entry.title,
    ...extra,
    status: extra.status ?? entry.status,
    code,
  };
}
