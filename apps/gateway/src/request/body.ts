/**
 * Request bodies: buffered (so a retry can replay them) when small and the request is
 * retryable, otherwise streamed once. Either way the body cap is enforced.
 */
import type { IncomingMessage } from "node:http";
import type { Writable } from "node:stream";

/** What http-proxy pipes into the upstream request (it only calls `.pipe(dest)`). */
export interface BodySource {
  pipe(dest: Writable): unknown;
}

export type RequestBody =
  | { kind: "none" }
  | { kind: "buffered"; data: Buffer }
  | { kind: "stream"; prefix: Buffer[]; req: IncomingMessage; maxBytes: number; used: boolean };

const NONE: RequestBody = { kind: "none" };
const EMPTY_SOURCE: BodySource = {
  pipe(dest) {
    dest.end();
    return dest;
  },
};

export function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (cl !== undefined && cl !== "0");
}

export type BodyError = "too_large" | "aborted";

export class BodyTooLargeError extends Error {
  readonly code = "RG_BODY_TOO_LARGE";
}

/**
 * Read the body for a request. Bodies above `bufferBytes` (or any body when not
 * `wantReplay`) are returned as a one-shot stream.
 */
export function readRequestBody(
  req: IncomingMessage,
  opts: { wantReplay: boolean; bufferBytes: number; maxBytes: number },
): RequestBody | BodyError | Promise<RequestBody | BodyError> {
  if (!hasBody(req)) return NONE;
  const cl = req.headers["content-length"];
  const declared = cl === undefined ? undefined : Number(cl);
  if (declared !== undefined && declared > opts.maxBytes) return "too_large";
  const limit = Math.min(opts.bufferBytes, opts.maxBytes);
  if (!opts.wantReplay || (declared !== undefined && declared > limit)) {
    return { kind: "stream", prefix: [], req, maxBytes: opts.maxBytes, used: false };
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (r: RequestBody | BodyError) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("aborted", onAbort);
      req.off("error", onAbort);
      resolve(r);
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size > limit) {
        // Too big to keep for a replay: hand over what was read and stream the rest once.
        req.pause();
        if (size > opts.maxBytes) done("too_large");
        else done({ kind: "stream", prefix: chunks, req, maxBytes: opts.maxBytes, used: false });
      }
    };
    const onEnd = () => done({ kind: "buffered", data: Buffer.concat(chunks, size) });
    const onAbort = () => done("aborted");
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("aborted", onAbort);
    req.on("error", onAbort);
  });
}

/** True when this body can be sent again on a retry. */
export function replayable(body: RequestBody): boolean {
  return body.kind !== "stream";
}

/**
 * The source for one attempt. A streamed body can be used once; later attempts (which the
 * pipeline does not make for non-replayable requests) get an empty body.
 */
export function bodySource(body: RequestBody, onTooLarge: () => void): BodySource {
  if (body.kind === "none") return EMPTY_SOURCE;
  if (body.kind === "buffered") {
    const data = body.data;
    return {
      pipe(dest) {
        dest.end(data);
        return dest;
      },
    };
  }
  if (body.used) return EMPTY_SOURCE;
  body.used = true;
  return {
    pipe(dest) {
      const req = body.req;
      let size = 0;
      for (const c of body.prefix) {
        size += c.length;
        dest.write(c);
      }
      const onData = (c: Buffer) => {
        size += c.length;
        if (size > body.maxBytes) {
          req.off("data", onData);
          onTooLarge();
          dest.destroy(new Error("request body too large"));
          return;
        }
        if (!dest.write(c)) req.pause();
      };
      dest.on("drain", () => req.resume());
      req.on("data", onData);
      req.once("end", () => dest.end());
      req.resume();
      return dest;
    },
  };
}
