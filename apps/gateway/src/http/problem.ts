/**
 * Every answer the gateway generates itself is an RFC 9457 problem document built from the
 * core's error catalogue, so the `type` is stable per cause.
 */
import { STATUS_CODES, type ServerResponse } from "node:http";
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

/**
 * A problem's header fields, lower-case and each once: the caller's `headers` (rate-limit
 * fields, say, which may carry their own Retry-After) first, then the gateway's own, which
 * replace a field of the same name.
 */
function problemFields(opts: ProblemOptions): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const k in opts.headers) fields[k.toLowerCase()] = opts.headers[k]!;
  fields["content-type"] = "application/problem+json";
  fields["cache-control"] = "no-store";
  if (opts.requestId) fields["x-request-id"] = opts.requestId;
  if (opts.retryAfterMs !== undefined) fields["retry-after"] = retryAfterSeconds(opts.retryAfterMs);
  return fields;
}

/** Write a problem response on a response that has not started yet. Returns the status. */
export function sendProblem(
  res: ServerResponse,
  code: ErrorCode,
  opts: ProblemOptions = {},
): number {
  const body = problemBody(code, opts);
  const status = opts.status ?? ERROR_CATALOGUE[code].status;
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  const headers: Record<string, string | number> = problemFields(opts);
  headers["content-length"] = Buffer.byteLength(body);
  res.writeHead(status, headers);
  res.end(body);
  return status;
}

/**
 * Answer on a raw socket (the HTTP parser rejected the request, or it asked for an upgrade,
 * so there is no response object) and close the connection.
 */
export function sendRawProblem(socket: Socket, code: ErrorCode, opts: ProblemOptions = {}): void {
  if (!socket.writable || socket.destroyed) {
    socket.destroy();
    return;
  }
  const body = problemBody(code, opts);
  const status = opts.status ?? ERROR_CATALOGUE[code].status;
  const fields = problemFields(opts);
  const headers: string[] = [];
  for (const k in fields) headers.push(k, fields[k]!);
  endRaw(socket, status, headers, Buffer.from(body));
}

/**
 * The status line and header fields (a flat name/value list) of a response written on a raw
 * socket, without the blank line that ends the head.
 */
export function rawHead(status: number, headers: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return head;
}

/**
 * Write a whole response on a raw socket (flat name/value header list, without framing
 * fields: Content-Length and Connection: close are added) and close the connection.
 */
export function endRaw(
  socket: Socket,
  status: number,
  headers: readonly string[],
  body: Buffer,
): void {
  const head = `${rawHead(status, headers)}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  socket.end(Buffer.concat([Buffer.from(head, "latin1"), body]));
  // A client that never reads must not keep the socket alive.
  setTimeout(() => socket.destroy(), 1000).unref();
}
