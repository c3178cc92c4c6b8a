/**
 * Every answer the gateway generates itself is an RFC 9457 problem document built from the
 * core's error catalogue, so the `type` is stable per cause.
 */
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { ERROR_CATALOGUE, problemFor, type ErrorCode } from "@rg/core";

export interface ProblemOptions {
  requestId?: string;
  detail?: string;
  /** Milliseconds; written as whole seconds (rounded up, at least 1). */
  retryAfterMs?: number;
  headers?: Record<string, string>;
  status?: number;
  extra?: Record<string, unknown>;
}

export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

export function problemBody(code: ErrorCode, opts: ProblemOptions): string {
  return JSON.stringify(
    problemFor(code, {
      ...opts.extra,
      ...(opts.detail !== undefined ? { detail: opts.detail } : {}),
      ...(opts.requestId !== undefined ? { requestId: opts.requestId } : {}),
      ...(opts.status !== undefined ? { status: opts.status } : {}),
    }),
  );
}

/** Write a problem response on a response that has not started yet. Returns the status. */
export function sendProblem(
  res: ServerResponse,
  code: ErrorCode,
  opts: ProblemOptions = {},
): number {
  const body = problemBody(code, opts);
  const status = opts.status ?? ERROR_CATALOGUE[code].status;
  const headers: Record<string, string | number> = {
    "content-type": "application/problem+json",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    ...opts.headers,
  };
  if (opts.requestId) headers["x-request-id"] = opts.requestId;
  if (opts.retryAfterMs !== undefined)
    headers["retry-after"] = retryAfterSeconds(opts.retryAfterMs);
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  res.writeHead(status, headers);
  res.end(body);
  return status;
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  414: "URI Too Long",
  417: "Expectation Failed",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  505: "HTTP Version Not Supported",
};

/**
 * Answer on a raw socket (the HTTP parser rejected the request, so there is no response
 * object) and close the connection.
 */
export function sendRawProblem(socket: Socket, code: ErrorCode): void {
  if (!socket.writable || socket.destroyed) {
    socket.destroy();
    return;
  }
  const body = problemBody(code, {});
  const status = ERROR_CATALOGUE[code].status;
  const head =
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\n` +
    "Content-Type: application/problem+json\r\n" +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    "Connection: close\r\n\r\n";
  socket.end(head + body);
  // A client that never reads must not keep the socket alive.
  setTimeout(() => socket.destroy(), 1000).unref();
}
