import { createHash } from "node:crypto";
import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { ActiveBehaviour, HEALTHY } from "./behaviour";
import type { Behaviour } from "./behaviour";
import { countFault, countRequest, countStatus, emptyStats } from "./stats";
import type { ServiceStats } from "./stats";

/** Longer than any sane proxy pool idle timeout, so the pool never reuses a socket we just closed. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** Bodies are echoed back; anything bigger is cut to keep the demo's memory bounded. */
const MAX_ECHO_BYTES = 1024 * 1024;

interface Port {
  port: number;
  server: http.Server;
  listening: boolean;
  override?: ActiveBehaviour;
  /** Requests held open by `hangRate`, so close() can release them. */
  hanging: Set<ServerResponse>;
  /** Sockets handed over by upgrades (WebSockets, held handshakes): the server no longer tracks them. */
  upgraded: Set<Socket>;
}

export interface ServiceState {
  cacheable: boolean;
  ports: number[];
  behaviour: Behaviour;
  portBehaviours: Record<string, Behaviour>;
  listening: Record<string, boolean>;
  stats: ServiceStats;
}

/** One demo service: a JSON echo server on one or more ports with a scriptable behaviour. */
export class DemoService {
  private behaviour = new ActiveBehaviour({ ...HEALTHY });
  private readonly portList: Port[] = [];
  stats: ServiceStats = emptyStats();
  /** Accepts the WebSocket handshakes on every port. */
  private readonly sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_ECHO_BYTES });

  constructor(
    readonly name: string,
    readonly cacheable: boolean,
    private readonly host: string,
  ) {}

  get ports(): number[] {
    return this.portList.map((p) => p.port);
  }

  async listen(requested: readonly number[]): Promise<void> {
    for (const wanted of requested) {
      const entry: Port = {
        port: wanted,
        server: this.createServer(),
        listening: false,
        hanging: new Set(),
        upgraded: new Set(),
      };
      await listenOn(entry.server, this.host, wanted);
      const address = entry.server.address();
      entry.port = typeof address === "object" && address ? address.port : wanted;
      entry.listening = true;
      this.portList.push(entry);
    }
  }

  hasPort(port: number): boolean {
    return this.portList.some((p) => p.port === port);
  }

  /**
   * Replace the behaviour of the whole service (clearing per-port overrides) or, with `port`,
   * of that port only. Resolves once listeners have stopped or started as `down` requires.
   */
  async setBehaviour(value: Behaviour, port?: number): Promise<void> {
    if (port === undefined) {
      this.behaviour = new ActiveBehaviour(value);
      for (const p of this.portList) delete p.override;
    } else {
      const entry = this.portList.find((p) => p.port === port);
      if (!entry) throw new Error(`${this.name} does not listen on port ${port}`);
      entry.override = new ActiveBehaviour(value);
    }
    await this.syncListening();
  }

  async reset(): Promise<void> {
    this.stats = emptyStats();
    await this.setBehaviour({ ...HEALTHY });
  }

  state(): ServiceState {
    const portBehaviours: Record<string, Behaviour> = {};
    const listening: Record<string, boolean> = {};
    for (const p of this.portList) {
      if (p.override) portBehaviours[p.port] = p.override.value;
      listening[p.port] = p.listening;
    }
    return {
      cacheable: this.cacheable,
      ports: this.ports,
      behaviour: this.behaviour.value,
      portBehaviours,
      listening,
      stats: this.stats,
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.portList.filter((p) => p.listening).map((p) => this.stop(p)));
  }

  private effective(entry: Port): ActiveBehaviour {
    return entry.override ?? this.behaviour;
  }

  private async syncListening(): Promise<void> {
    await Promise.all(
      this.portList.map(async (p) => {
        const down = this.effective(p).value.down;
        if (down && p.listening) await this.stop(p);
        else if (!down && !p.listening) {
          await listenOn(p.server, this.host, p.port);
          p.listening = true;
        }
      }),
    );
  }

  private async stop(entry: Port): Promise<void> {
    entry.listening = false;
    const closed = new Promise<void>((resolve) => entry.server.close(() => resolve()));
    for (const res of entry.hanging) res.destroy();
    entry.hanging.clear();
    for (const socket of entry.upgraded) socket.destroy();
    entry.upgraded.clear();
    entry.server.closeAllConnections();
    await closed;
  }

  private createServer(): http.Server {
    const server = http.createServer((req, res) => {
      const entry = this.portList.find((p) => p.server === server);
      if (!entry) {
        res.destroy();
        return;
      }
      this.handle(entry, req, res).catch(() => res.destroy());
    });
    server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const entry = this.portList.find((p) => p.server === server);
      socket.on("error", () => socket.destroy());
      if (!entry) socket.destroy();
      else this.upgrade(entry, req, socket, head).catch(() => socket.destroy());
    });
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 5_000;
    return server;
  }

  /**
   * A WebSocket on any path: the handshake follows the behaviour (latency, errors, 429s,
   * hangs, resets), then every message is echoed back as it came (text or binary).
   */
  private async upgrade(
    entry: Port,
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
  ): Promise<void> {
    entry.upgraded.add(socket);
    socket.on("close", () => entry.upgraded.delete(socket));
    countRequest(this.stats, "GET", entry.port, false);
    const behaviour = this.effective(entry);
    const fault = behaviour.drawFault();
    if (fault === "hang") {
      countFault(this.stats, fault);
      return;
    }
    const delay = behaviour.delayMs();
    if (delay > 0) {
      await new Promise((r) => setTimeout(r, delay));
      if (socket.destroyed) return;
    }
    const refuse = (status: number, reason: string, extra = "") => {
      countStatus(this.stats, status);
      const body = JSON.stringify({ error: reason, service: this.name, port: entry.port });
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? "Error"}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
      );
    };
    switch (fault) {
      case "reset":
      case "truncate":
        countFault(this.stats, fault);
        socket.destroy();
        return;
      case "invalidHeader":
        countFault(this.stats, fault);
        writeInvalidHeaderResponse(socket);
        return;
      case "rateLimit":
        refuse(429, "rate limited", `Retry-After: ${behaviour.value.retryAfterSeconds}\r\n`);
        return;
      case "error":
        refuse(behaviour.value.errorStatus, "injected failure");
        return;
      case undefined:
        break;
    }
    this.sockets.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      countStatus(this.stats, 101);
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  }

  private async handle(entry: Port, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://demo.invalid");
    const count = countRequest(this.stats, method, entry.port, url.pathname === "/health");
    const body = await readBody(req);
    const behaviour = this.effective(entry);
    const fault = behaviour.drawFault();

    if (fault === "hang") {
      countFault(this.stats, fault);
      entry.hanging.add(res);
      res.on("close", () => entry.hanging.delete(res));
      return;
    }
    const delay = behaviour.delayMs();
    if (delay > 0 && !(await waitUnlessClosed(delay, res))) return;

    const socket = req.socket;
    switch (fault) {
      case "reset":
        countFault(this.stats, fault);
        socket.destroy();
        return;
      case "invalidHeader":
        countFault(this.stats, fault);
        writeInvalidHeaderResponse(socket);
        return;
      case "truncate": {
        countFault(this.stats, fault);
        const payload = Buffer.from(JSON.stringify(this.echo(entry, req, count, body)));
        res.writeHead(200, {
          "content-type": "application/json",
          "content-length": payload.length,
        });
        res.write(payload.subarray(0, Math.floor(payload.length / 2)), () => socket.destroy());
        return;
      }
      case "rateLimit":
        this.send(
          res,
          429,
          { error: "rate limited", service: this.name, port: entry.port },
          {
            "retry-after": String(behaviour.value.retryAfterSeconds),
          },
        );
        return;
      case "error":
        this.send(res, behaviour.value.errorStatus, {
          error: "injected failure",
          service: this.name,
          port: entry.port,
          count,
        });
        return;
      case undefined:
        break;
    }

    if (url.pathname === "/health") {
      this.send(res, 200, { status: "ok", service: this.name, port: entry.port });
      return;
    }
    const extra: http.OutgoingHttpHeaders = {};
    if (this.cacheable && (method === "GET" || method === "HEAD")) {
      // The resource's identity is its path; the counter in the body is diagnostic only,
      // hence a weak validator.
      const etag = `W/"${createHash("sha1").update(`${this.name}${url.pathname}`).digest("hex").slice(0, 16)}"`;
      extra["cache-control"] = "max-age=1";
      extra.etag = etag;
      if (req.headers["if-none-match"] === etag) {
        countStatus(this.stats, 304);
        res.writeHead(304, extra);
        res.end();
        return;
      }
    }
    this.send(res, 200, this.echo(entry, req, count, body), extra);
  }

  private echo(entry: Port, req: IncomingMessage, count: number, body: Buffer | undefined): object {
    return {
      service: this.name,
      port: entry.port,
      method: req.method,
      path: req.url,
      count,
      requestId: req.headers["x-request-id"],
      headers: req.headers,
      ...(body && body.length > 0 ? { body: decodeBody(body, req.headers["content-type"]) } : {}),
    };
  }

  private send(
    res: ServerResponse,
    status: number,
    payload: object,
    headers: http.OutgoingHttpHeaders = {},
  ): void {
    const text = JSON.stringify(payload);
    countStatus(this.stats, status);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }
}

function listenOn(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  if (
    req.headers["content-length"] === undefined &&
    req.headers["transfer-encoding"] === undefined
  ) {
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (size < MAX_ECHO_BYTES) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).subarray(0, MAX_ECHO_BYTES);
}

function decodeBody(body: Buffer, contentType: string | undefined): unknown {
  const text = body.toString("utf8");
  if (contentType?.includes("json")) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/** Resolves true after `ms`, or false as soon as the client goes away. */
function waitUnlessClosed(ms: number, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off("close", onClose);
      resolve(!res.destroyed);
    }, ms);
    res.once("close", onClose);
  });
}

/**
 * A header name containing a space is not a token (RFC 9110 §5.1); Node's own response API
 * refuses to write one, so the response is written straight to the socket.
 */
function writeInvalidHeaderResponse(socket: Socket): void {
  socket.end(
    "HTTP/1.1 200 OK\r\n" +
      "Content-Type: application/json\r\n" +
      "X-Demo Invalid: 1\r\n" +
      "Content-Length: 2\r\n" +
      "Connection: close\r\n\r\n{}",
  );
}
