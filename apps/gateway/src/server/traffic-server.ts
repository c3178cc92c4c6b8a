/**
 * The traffic listener with strict limits: header size (431), headers and request timeouts
 * (408, the slowloris guard) and keep-alive. Requests Node's parser refuses (bad framing,
 * invalid header names, bad targets) are answered 400 problem+json on the raw socket.
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Socket } from "node:net";
import type { GatewayConfig } from "@rg/core";
import { sendRawProblem } from "../http/problem";

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

export function createTrafficServer(g: GatewayConfig, onRequest: RequestListener): Server {
  const limits = serverLimits(g);
  const server = http.createServer(
    {
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
  server.on("clientError", (err: Error & { code?: string }, socket: Duplex) => {
    const s = socket as Socket;
    if (err.code === "ECONNRESET" || err.code === "EPIPE" || !s.writable) {
      s.destroy();
      return;
    }
    switch (err.code) {
      case "HPE_HEADER_OVERFLOW":
        return sendRawProblem(s, "RG_HEADERS_TOO_LARGE");
      case "ERR_HTTP_REQUEST_TIMEOUT":
        return sendRawProblem(s, "RG_REQUEST_TIMEOUT");
      default:
        return sendRawProblem(s, "RG_BAD_REQUEST");
    }
  });
  // No protocol upgrades are proxied: refuse them instead of leaving the socket hanging.
  server.on("upgrade", (_req: IncomingMessage, socket: Duplex) => {
    sendRawProblem(socket as Socket, "RG_BAD_REQUEST");
  });
  return server;
}
