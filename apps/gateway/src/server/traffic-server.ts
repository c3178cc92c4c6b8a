/**
 * The traffic listener with strict limits: header size (431), headers and request timeouts
 * (408, the slowloris guard) and keep-alive. Requests Node's parser refuses (bad framing,
 * invalid header names, bad targets) are answered 400 problem+json on the raw socket.
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Socket } from "node:net";
import type { ErrorCode, GatewayConfig } from "@rg/core";
import { sendProblem, sendRawProblem } from "../http/problem";

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export function serverLimits(g: GatewayConfig) {
  const requestTimeout = g.limits.requestTimeoutMs;
  // Node refuses a headers timeout above the request timeout.
  const headersTimeout = Math.min(g.limits.headersTimeoutMs, requestTimeout || Infinity);
  return {
    maxHeaderSize: g.limits.maxHeaderBytes,
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: g.limits.keepAliveTimeoutMs,
    // Node checks the two timeouts on this period (30 s by default): keep it well under them.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
  };
}

const kKeepAliveAfterContinue = Symbol("rg.keepAliveAfterContinue");
type ContinueRequest = IncomingMessage & { [kKeepAliveAfterContinue]?: boolean };

/**
 * Send the 100 Continue a request is waiting for, if it is: called right before its body is
 * read. The connection may then be kept alive again, as the body will be read.
 */
export function continueIfExpected(req: IncomingMessage, res: ServerResponse): void {
  const keep = (req as ContinueRequest)[kKeepAliveAfterContinue];
  if (keep === undefined) return;
  delete (req as ContinueRequest)[kKeepAliveAfterContinue];
  res.shouldKeepAlive = keep;
  res.writeContinue();
}

interface HttpSocket extends Socket {
  /** The response Node is writing on this connection now (pipelined ones queue behind it). */
  _httpMessage?: ServerResponse | null;
  /** The parser, with the request it is reading (null between requests). */
  parser?: { incoming?: IncomingMessage | null } | null;
}

/** The problem code for a request Node's parser refused. */
function parseErrorCode(err: Error & { code?: string; rawPacket?: Buffer }): ErrorCode {
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW": {
      // Still inside the request line (no line end yet): the target is what is too long.
      const raw = err.rawPacket;
      if (
        raw !== undefined &&
        raw.indexOf(10) === -1 &&
        /^[A-Z]+ /.test(raw.toString("latin1", 0, 24))
      )
        return "RG_TARGET_TOO_LONG";
      return "RG_HEADERS_TOO_LARGE";
    }
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return "RG_REQUEST_TIMEOUT";
    default:
      return "RG_BAD_REQUEST";
  }
}

/**
 * A parse error on a connection that may still owe answers. Responses are sent in request
 * order, so nothing may be written before the ones in flight, and nothing at all for a
 * request that has been answered already:
 * - bytes after a request that asked to close (RFC 9112 §9.6) are ignored, and the
 *   connection closes after the answer in flight;
 * - a broken body of a request already answered (an upstream may answer before reading it)
 *   closes the connection without another word;
 * - a broken body of a request still waiting for its answer: the problem takes the answer's
 *   place, or, if the answer has begun, the connection is cut;
 * - otherwise (a broken request behind others) the problem follows the answers in flight.
 * The connection closes after the problem in every case.
 */
function onClientError(s: HttpSocket, err: Error & { code?: string; rawPacket?: Buffer }): void {
  const inFlight = s._httpMessage;
  if (err.code === "HPE_CLOSED_CONNECTION") {
    if (inFlight === undefined || inFlight === null) s.destroy();
    return;
  }
  const reading = s.parser?.incoming;
  const broken = reading !== undefined && reading !== null && !reading.complete ? reading : null;
  if (broken !== null && (inFlight === undefined || inFlight === null)) {
    // The error is in the body of a request already answered (an upstream may answer before
    // it has read the body): nothing more may be written.
    s.destroy();
    return;
  }
  const code = parseErrorCode(err);
  const after = (): void => {
    const res = s._httpMessage;
    if (res !== undefined && res !== null && !res.writableFinished) {
      if (res.req === broken) {
        // The broken request's own answer: the problem takes its place if none of it has
        // been sent; once begun, it can only be cut off.
        if (res.headersSent) s.destroy();
        else sendRawProblem(s, code);
        return;
      }
      // An earlier request's answer is still being written: the problem goes after it.
      res.once("finish", () => setImmediate(after));
      res.once("close", () => {
        if (!res.writableFinished) s.destroy();
      });
      return;
    }
    sendRawProblem(s, code);
  };
  after();
}

export interface TrafficServer {
  server: Server;
  /**
   * From now on every answer not yet begun says `Connection: close`, so no client sends
   * another request on a connection the shutdown is about to close.
   */
  drain(): void;
}

export type UpgradeListener = (req: IncomingMessage, socket: Socket, head: Buffer) => void;

export function createTrafficServer(
  g: GatewayConfig,
  onRequest: RequestListener,
  onUpgrade: UpgradeListener,
): TrafficServer {
  const limits = serverLimits(g);
  const state = { draining: false };
  /**
   * Reads the drain flag where Node decides keep-alive: when the head is written. (Keeping
   * a set of open responses for the drain to walk instead cost about a fifth of the
   * gateway's CPU per request in the proxy bench.)
   */
  class GatewayResponse extends http.ServerResponse {
    override writeHead(statusCode: number, reason?: unknown, headers?: unknown): this {
      if (state.draining) this.shouldKeepAlive = false;
      return super.writeHead(statusCode, reason as never, headers as never);
    }
  }
  const server = http.createServer(
    {
      ServerResponse: GatewayResponse,
      maxHeaderSize: limits.maxHeaderSize,
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      keepAliveTimeout: limits.keepAliveTimeout,
      connectionsCheckingInterval: limits.connectionsCheckingInterval,
      // A missing Host is answered by the handler, as a problem like every other refusal.
      requireHostHeader: false,
    },
    onRequest,
  );
  // Node would drop the fields past its count limit without a word: the byte limit is the
  // only bound, and every field the client sent is seen.
  server.maxHeadersCount = 0;
  server.on("clientError", (err: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex) => {
    const s = socket as Socket;
    if (err.code === "ECONNRESET" || err.code === "EPIPE" || !s.writable) {
      s.destroy();
      return;
    }
    onClientError(s, err);
  });
  // WebSocket handshakes, and any other Upgrade request (refused there with a problem).
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    onUpgrade(req, socket as Socket, head);
  });
  // Nor is the gateway a forward proxy. Without a listener Node closes the socket silently.
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    sendRawProblem(socket as Socket, "RG_METHOD_NOT_SUPPORTED");
  });
  // 100 Continue is the handler's to send, once it is about to read the body: a request
  // refused before that (no route, read-only, too large) is answered without the client
  // sending its body. Until then the connection cannot be kept: whether the client sends
  // the body anyway is not known.
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    (req as ContinueRequest)[kKeepAliveAfterContinue] = res.shouldKeepAlive;
    res.shouldKeepAlive = false;
    onRequest(req, res);
  });
  // An Expect other than 100-continue (Node's own answer would be a bare 417).
  server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
    res.shouldKeepAlive = false;
    sendProblem(res, "RG_EXPECTATION_FAILED", {
      detail: `Expect: ${String(req.headers.expect).slice(0, 100)} is not supported`,
    });
  });
  return {
    server,
    drain: () => {
      state.draining = true;
    },
  };
}
