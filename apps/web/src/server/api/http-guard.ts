/**
 * Checks in front of the tRPC HTTP endpoint, before any procedure runs:
 * - only GET (queries) and POST (mutations); a GET naming a mutation is refused, so no state
 *   changes through a link, an <img> or a prefetch;
 * - POST bodies must be application/json (a cross-site form cannot send that without a CORS
 *   preflight, which this server never answers);
 * - POSTs must come from this origin: Origin must match the Host (or a trusted origin), or,
 *   without Origin, Sec-Fetch-Site must say same-origin; cross-site fetches are refused outright;
 * - bodies larger than any legitimate change are refused: by their Content-Length before they
 *   are read, and (a chunked body has none) by reading at most that much (readCappedBody);
 * - a procedure path that does not decode (a malformed % escape) is refused with 400.
 */

/** The largest legitimate input is a static fallback body (1 MiB) inside its JSON envelope. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;
export type ProcedureKind = "query" | "mutation" | "subscription";

export interface GuardOptions {
  /** Path prefix of the endpoint, e.g. "/api/trpc". */
  endpoint: string;
  /** Kind of a procedure by its dotted path, undefined when unknown. */
  kindOf: (path: string) => ProcedureKind | undefined;
  /** Origins besides the request's own Host that may send mutations. */
  trustedOrigins?: readonly string[];
}

function problem(status: number, title: string, extraHeaders: Record<string, string> = {}) {
  return new Response(JSON.stringify({ type: "about:blank", title, status }), {
    status,
    headers: { "content-type": "application/problem+json", ...extraHeaders },
  });
}

/** The dotted procedure paths the URL names, or null when it does not decode. */
function procedurePaths(url: URL, endpoint: string): string[] | null {
  const rest = url.pathname.startsWith(endpoint) ? url.pathname.slice(endpoint.length) : "";
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest.replace(/^\/+/, ""));
  } catch {
    return null;
  }
  return decoded.split(",").filter((p) => p.length > 0);
}

function sameOrigin(req: Request, trusted: readonly string[]): boolean {
  const origin = req.headers.get("origin");
  if (origin !== null) {
    if (origin === "null") return false;
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      return false;
    }
    const host = req.headers.get("host");
    if (host !== null && parsed.host === host) return true;
    return trusted.some((t) => {
      try {
        return new URL(t).origin === parsed.origin;
      } catch {
        return false;
      }
    });
  }
  return req.headers.get("sec-fetch-site") === "same-origin";
}

/** A refusal Response, or null when the request may proceed to tRPC. */
export function guardTrpcRequest(req: Request, opts: GuardOptions): Response | null {
  const method = req.method.toUpperCase();
  if (method !== "GET" && method !== "POST") {
    return problem(405, "Method Not Allowed", { allow: "GET, POST" });
  }
  if (req.headers.get("sec-fetch-site") === "cross-site") {
    return problem(403, "Cross-site requests are refused");
  }
  const paths = procedurePaths(new URL(req.url), opts.endpoint);
  if (paths === null) return problem(400, "Malformed procedure path");
  if (method === "GET") {
    if (paths.some((p) => opts.kindOf(p) === "mutation")) {
      return problem(405, "Mutations must be sent with POST", { allow: "POST" });
    }
    return null;
  }
  const contentType = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (contentType !== "application/json") {
    return problem(415, "Send mutations as application/json");
  }
  if (!sameOrigin(req, opts.trustedOrigins ?? [])) {
    return problem(403, "Cross-origin mutation refused");
  }
  const length = Number(req.headers.get("content-length") ?? "0");
  if (!Number.isFinite(length) || length > MAX_BODY_BYTES) {
    return problem(413, "Request body too large");
  }
  return null;
}

/**
 * The request with its body read into memory, or a 413 refusal as soon as more than `max`
 * bytes arrive (the rest is never read). The Content-Length check in guardTrpcRequest cannot
 * see a chunked body, which has none.
 */
export async function readCappedBody(
  req: Request,
  max: number = MAX_BODY_BYTES,
): Promise<Request | Response> {
  if (req.body === null) return req;
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      return problem(413, "Request body too large");
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    body.set(c, offset);
    offset += c.byteLength;
  }
  return new Request(req.url, {
    method: req.method,
    headers: req.headers,
    body,
    signal: req.signal,
  });
}
