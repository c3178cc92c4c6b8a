/** Shared helpers for the gateway's integration tests: real servers on port 0, loopback only. */
import http, { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import net, { type AddressInfo } from "node:net";
import { Writable } from "node:stream";
import pino from "pino";
import type { ConfigInput } from "@rg/core";
import { startGateway, type Gateway, type StartGatewayOptions } from "../src/gateway";

/** Counts process-level failures; every integration file asserts it stays at zero. */
export const uncaught = { exceptions: 0, rejections: 0, last: undefined as unknown };
let installed = false;
export function trackUncaught(): void {
  if (installed) return;
  installed = true;
  process.on("uncaughtException", (e) => {
    uncaught.exceptions++;
    uncaught.last = e;
  });
  process.on("unhandledRejection", (e) => {
    uncaught.rejections++;
    uncaught.last = e;
  });
}

export const silent = pino({ level: "silent" });

/** A pino logger at `level` whose JSON lines land, parsed, in `lines`. */
export function capturedLogs(level: pino.Level): {
  logger: pino.Logger;
  lines: Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n"))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

export async function gatewayFor(
  config: ConfigInput,
  extra: Partial<StartGatewayOptions> = {},
): Promise<Gateway> {
  return startGateway({ config, port: 0, adminPort: 0, logger: silent, ...extra });
}

export interface TestUpstream {
  url: string;
  port: number;
  server: Server;
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  sockets: Set<net.Socket>;
  close(): Promise<void>;
}

/** A small upstream whose handler is given per test; records every request it sees. */
export async function startUpstream(
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<TestUpstream> {
  const requests: TestUpstream["requests"] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.keepAliveTimeout = 10_000;
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    requests,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface SimpleResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function request(
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    timeoutMs?: number;
    /** On a connection of its own instead of the shared keep-alive pool. */
    fresh?: boolean;
  } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: opts.method ?? "GET",
        headers: opts.headers,
        agent: opts.fresh === true ? false : agent,
        timeout: opts.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("client timeout")));
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** Send raw bytes and collect everything until the server closes (or `timeoutMs`). */
export function raw(
  port: number,
  text: string | Buffer,
  timeoutMs = 5000,
): Promise<{ text: string; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text: Buffer.concat(chunks).toString(), closed: false, ms: Date.now() - started });
    }, timeoutMs);
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString(), closed: true, ms: Date.now() - started });
    });
    s.write(text);
  });
}

export function statusOf(rawText: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(rawText);
  return m ? Number(m[1]) : 0;
}

/** Poll a condition until it holds (never a fixed sleep). */
export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  stepMs = 20,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export function upstreamConfig(url: string, extra: Record<string, unknown> = {}) {
  return { endpoints: { main: { url } }, ...extra };
}
