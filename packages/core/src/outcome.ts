/**
 * Outcome classification: every attempt against an upstream is classified exactly once,
 * and every policy (breaker, retry, outlier detection, SLIs) reads that classification.
 * What counts as a failure is decided here, not in the policies.
 */

export const OUTCOME_KINDS = [
  "success",
  "http_5xx",
  "connect_error",
  "timeout",
  "rate_limited",
  "client_error",
] as const;
export type OutcomeKind = (typeof OUTCOME_KINDS)[number];

export interface Outcome {
  kind: OutcomeKind;
  /** HTTP status when the upstream answered. */
  status?: number;
  /** Time from sending the attempt to its classification, in ms. */
  durationMs: number;
  /** Parsed `Retry-After` in ms (relative), when the upstream sent one. */
  retryAfterMs?: number;
  /** A stable error code for transport failures (ECONNREFUSED, ECONNRESET, ENOTFOUND...). */
  errorCode?: string;
  /** True when this outcome counts as a failure of the upstream (breaker, outlier, SLI). */
  failure: boolean;
}

export interface ClassifyInput {
  status?: number;
  /** Transport error code, when the attempt failed before a response. */
  errorCode?: string;
  timedOut?: boolean;
  durationMs: number;
  /** Raw `Retry-After` header value, if any. */
  retryAfter?: string | undefined;
  /** Wall-clock now in ms, to resolve an HTTP-date `Retry-After`. */
  wallNow?: number;
}

export interface ClassifyOptions {
  /** Statuses counted as upstream failures. Default: 500–599 (see config `failureStatuses`). */
  isFailureStatus?: (status: number) => boolean;
}

const defaultIsFailureStatus = (status: number) => status >= 500 && status <= 599;

/**
 * Parse a `Retry-After` header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
 * Returns milliseconds from `wallNow`, never negative, or undefined when absent or invalid.
 */
export function parseRetryAfter(value: string | undefined, wallNow: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === "") return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - wallNow);
}

export function classify(input: ClassifyInput, options: ClassifyOptions = {}): Outcome {
  const isFailureStatus = options.isFailureStatus ?? defaultIsFailureStatus;
  const { durationMs } = input;
  if (input.timedOut) return { kind: "timeout", durationMs, failure: true };
  if (input.status === undefined) {
    return {
      kind: "connect_error",
      durationMs,
      failure: true,
      ...(input.errorCode ? { errorCode: input.errorCode } : {}),
    };
  }
  const status = input.status;
  const retryAfterMs = parseRetryAfter(input.retryAfter, input.wallNow ?? Date.now());
  if (status === 429 || (status === 503 && retryAfterMs !== undefined)) {
    return {
      kind: "rate_limited",
      status,
      durationMs,
      failure: status === 503,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  if (isFailureStatus(status)) {
    return {
      kind: "http_5xx",
      status,
      durationMs,
      failure: true,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  if (status >= 400 && status <= 499)
    return { kind: "client_error", status, durationMs, failure: false };
  return { kind: "success", status, durationMs, failure: false };
}

/** Builds an `isFailureStatus` predicate from config entries like `500`, `"5xx"` or `"502-504"`. */
export function failureStatusMatcher(
  entries: readonly (number | string)[],
): (status: number) => boolean {
  const ranges: [number, number][] = entries.map((e) => {
    if (typeof e === "number") return [e, e];
    const m = /^(\d)xx$/i.exec(e);
    if (m) return [Number(m[1]) * 100, Number(m[1]) * 100 + 99];
    const [a, b] = e.split("-").map(Number);
    return [a ?? 0, b ?? a ?? 0];
  });
  return (status) => ranges.some(([a, b]) => status >= a && status <= b);
}
