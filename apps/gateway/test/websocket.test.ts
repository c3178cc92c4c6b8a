/**
 * WebSocket tunnels through the real gateway: the handshake runs the pipeline (retries,
 * breaker, rate limit, per-try timeout, tunnel cap), refusals are problems, the tunnel carries
 * bytes both ways until either side, the idle timeout, a mode change or shutdown closes it.
 */
import http, { type IncomingMessage } from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { loadConfig, type ConfigInput } from "@rg/core";
import type { Gateway } from "../src/gateway";
import {
  capturedLogs,
  closedPort,
  gatewayFor,
  request,
  trackUncaught,
  uncaught,
  until,
  upstreamConfig,
} from "./harness";
import { H, Wire, expectProblem, parseResponses } from "./wire";

trackUncaught();

/** How the echo upstream answers the next handshakes, in order; then it accepts. */
type Answer =
  | "accept"
  | "hang"
  /** Accept once the test calls `release()`. */
  | "held"
  | {
      status: number;
      body?: string;
      headers?: Record<string, string>;
      /** Announce more body than is sent, and never send the rest. */
      stall?: boolean;
    };

interface EchoUpstream {
  url: string;
  port: number;
  handshakes: IncomingMessage[];
  script: Answer[];
  /** Server-side sockets of accepted WebSockets. */
  clients: Set<WebSocket>;
  /** Bytes each of them has read off its connection, frames whole or not. */
  bytesIn: Map<WebSocket, () => number>;
  /** Accept the handshakes held by "held". */
  release(): void;
  /** Upstream connections of handshakes left hanging ("hang") and still open. */
  held: Set<net.Socket>;
  /** Ends of plain answers to ".../stream", held until the test calls them. */
  streams: (() => void)[];
  close(): Promise<void>;
}

/** A WebSocket echo server (text and binary) whose handshake answers can be scripted. */
async function startEcho(): Promise<EchoUpstream> {
  const server = http.createServer((req, res) => {
    const answer = () => {
      res.writeHead(426, { "content-type": "text/plain" });
      res.end("upgrade required");
    };
    // A slow plain answer, for a handshake pipelined behind it.
    if (req.url?.includes("slow")) setTimeout(answer, 100);
    else if (req.url?.includes("stream")) {
      // Its head and part of its body now, the rest when the test calls finishStream().
      res.writeHead(200, { "content-type": "text/plain", "content-length": "10" });
      res.write("first");
      up.streams.push(() => res.end("-last"));
    } else answer();
  });
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has("chat.v2") ? "chat.v2" : false),
  });
  const held = new Set<net.Socket>();
  const waiting: (() => void)[] = [];
  const up: EchoUpstream = {
    held,
    streams: [],
    release: () => {
      for (const accept of waiting.splice(0)) accept();
    },
    url: "",
    port: 0,
    handshakes: [],
    script: [],
    clients: new Set(),
    bytesIn: new Map(),
    close: async () => {
      for (const c of up.clients) c.terminate();
      for (const s of held) s.destroy();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  server.on("upgrade", (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
    up.handshakes.push(req);
    const answer = up.script.shift() ?? "accept";
    if (answer === "hang") {
      held.add(socket);
      // Read (and drop) what comes, so the gateway hanging up is seen.
      socket.resume();
      socket.on("end", () => socket.destroy());
      socket.on("close", () => held.delete(socket));
      return;
    }
    if (answer !== "accept" && answer !== "held") {
      const body = answer.body ?? "";
      const length = Buffer.byteLength(body) + (answer.stall ? 100 : 0);
      let text = `HTTP/1.1 ${answer.status} Refused\r\nContent-Length: ${length}\r\n`;
      for (const [k, v] of Object.entries(answer.headers ?? {})) text += `${k}: ${v}\r\n`;
      if (answer.stall) {
        held.add(socket);
        socket.resume();
        socket.on("end", () => socket.destroy());
        socket.on("close", () => held.delete(socket));
        socket.write(`${text}\r\n${body}`);
      } else socket.end(`${text}\r\n${body}`);
      return;
    }
    const accept = () =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        up.clients.add(ws);
        let read = 0;
        socket.on("data", (c: Buffer) => (read += c.length));
        up.bytesIn.set(ws, () => read);
        ws.on("close", () => {
          up.clients.delete(ws);
          up.bytesIn.delete(ws);
        });
        ws.on("message", (data, isBinary) => {
          const text = data.toString();
          if (!isBinary && text.startsWith("close:")) ws.close(Number(text.slice(6)), "bye");
          else ws.send(data, { binary: isBinary });
        });
      });
    if (answer === "held") waiting.push(accept);
    else accept();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  up.port = (server.address() as AddressInfo).port;
  up.url = `http://127.0.0.1:${up.port}`;
  return up;
}

function open(
  url: string,
  opts: WebSocket.ClientOptions & { protocols?: string[] } = {},
): Promise<{ ws: WebSocket; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts.protocols ?? [], opts);
    ws.once("upgrade", (res) => ws.once("open", () => resolve({ ws, res })));
    ws.once("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        reject(
          Object.assign(
            new Error(`handshake answered ${res.statusCode}: ${Buffer.concat(chunks).toString()}`),
            {
              status: res.statusCode,
              headers: res.headers,
              body: Buffer.concat(chunks).toString(),
            },
          ),
        ),
      );
    });
    ws.once("error", reject);
  });
}

/** The refusal a handshake got: status, headers and the parsed problem (or body). */
async function refused(
  url: string,
  opts: WebSocket.ClientOptions = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  try {
    const { ws } = await open(url, opts);
    ws.terminate();
  } catch (err) {
    const e = err as { status?: number; headers: http.IncomingHttpHeaders; body: string };
    if (e.status !== undefined) return { status: e.status, headers: e.headers, body: e.body };
    throw err;
  }
  throw new Error("the handshake was accepted");
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve) =>
    ws.once("message", (data: Buffer, binary: boolean) => resolve({ data, binary })),
  );
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve({ code: 1006, reason: "" });
  return new Promise((resolve) =>
    ws.once("close", (code: number, reason: Buffer) =>
      resolve({ code, reason: reason.toString() }),
    ),
  );
}

/** The upstream's side of the tunnel `opening` makes: the echo server's socket it adds. */
async function upstreamSide<T>(opening: () => Promise<T>): Promise<[T, WebSocket]> {
  const before = new Set(echo.clients);
  const r = await opening();
  const fresh = () => [...echo.clients].find((c) => !before.has(c));
  await until(() => fresh() !== undefined);
  return [r, fresh()!];
}

/** A tunnel opened by a raw client (a Wire, which can send part of a frame), and its upstream side. */
function rawTunnel(port: number, path: string): Promise<[Wire, WebSocket]> {
  return upstreamSide(async () => {
    const w = new Wire(port);
    w.send(
      `GET ${path} HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    expect(await w.waitFor(() => w.text.includes("\r\n\r\n"))).toBe(true);
    return w;
  });
}

/** A masked text frame "0123456789": 6 bytes of header, then 10 of payload. */
const TEN_BYTE_FRAME = (() => {
  const key = [0x11, 0x22, 0x33, 0x44];
  const payload = Buffer.from("0123456789").map((c, i) => c ^ key[i % 4]!);
  return Buffer.concat([Buffer.from([0x81, 0x80 | 10, ...key]), payload]);
})();

async function metricValue(gw: Gateway, line: string): Promise<number> {
  const text = await gw.metrics.text();
  const found = text.split("\n").find((l) => l.startsWith(line));
  return found === undefined ? 0 : Number(found.slice(line.length).trim());
}

let echo: EchoUpstream;
let gw: Gateway;
let base: ConfigInput;
const sockets: WebSocket[] = [];

function wsRoute(extra: Record<string, unknown> = {}) {
  return {
    upstream: "echo",
    timeouts: { connectMs: 500, perTryMs: 400, totalMs: 2000 },
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
    websocket: { enabled: true },
    ...extra,
  };
}

beforeAll(async () => {
  echo = await startEcho();
  base = {
    // The per-client cap's consumers: keys listed here are consumers of their own.
    gateway: { consumers: { tiers: { alice: "default", bob: "default" } } },
    upstreams: {
      echo: upstreamConfig(echo.url, {
        circuitBreaker: { enabled: true, consecutiveFailures: 3, minimumCalls: 100 },
      }),
    },
    routes: {
      ws: { match: { pathPrefix: "/ws" }, ...wsRoute() },
      capped: {
        match: { pathPrefix: "/capped" },
        ...wsRoute({ websocket: { enabled: true, maxConnections: 2 } }),
      },
      perclient: {
        match: { pathPrefix: "/perclient" },
        ...wsRoute({
          websocket: { enabled: true, maxConnections: 10, maxConnectionsPerClient: 2 },
        }),
      },
      idle: {
        match: { pathPrefix: "/idle" },
        ...wsRoute({ websocket: { enabled: true, idleTimeoutMs: 150 } }),
      },
      limited: {
        match: { pathPrefix: "/limited" },
        ...wsRoute({ rateLimit: { tiers: { default: { limit: 1, windowMs: 60_000 } } } }),
      },
      plain: { match: { pathPrefix: "/plain" }, upstream: "echo" },
    },
  };
  gw = await gatewayFor(base);
});

afterEach(() => {
  for (const ws of sockets.splice(0)) ws.terminate();
  echo.script = [];
});

afterAll(async () => {
  await gw.close();
  await echo.close();
  expect(uncaught).toMatchObject({ exceptions: 0, rejections: 0 });
});

async function connect(
  path: string,
  opts: WebSocket.ClientOptions & { protocols?: string[] } = {},
) {
  const r = await open(`ws://127.0.0.1:${gw.port}${path}`, opts);
  sockets.push(r.ws);
  return r;
}

describe("tunnels", () => {
  it("carries text and binary messages both ways, with the request id and subprotocol", async () => {
    const seen = echo.handshakes.length;
    const { ws, res } = await connect("/ws/chat?room=1", {
      protocols: ["chat.v2"],
      headers: { "x-request-id": "ws-trace-1" },
    });
    expect(res.statusCode).toBe(101);
    expect(res.headers["x-request-id"]).toBe("ws-trace-1");
    expect(ws.protocol).toBe("chat.v2");
    const hs = echo.handshakes[seen]!;
    expect(hs.url).toBe("/ws/chat?room=1");
    expect(hs.headers["x-request-id"]).toBe("ws-trace-1");
    expect(hs.headers.upgrade).toBe("websocket");
    expect(Number(hs.headers["x-request-deadline-ms"])).toBeGreaterThan(0);

    ws.send("hello");
    expect((await nextMessage(ws)).data.toString()).toBe("hello");
    const bin = Buffer.from([0, 1, 2, 255]);
    ws.send(bin);
    const back = await nextMessage(ws);
    expect(back.binary).toBe(true);
    expect(Buffer.compare(back.data, bin)).toBe(0);
    // A large message crosses in many reads and writes, with backpressure on both sockets.
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    ws.send(big);
    const bigBack = await nextMessage(ws);
    expect(bigBack.data.length).toBe(big.length);
    expect(bigBack.data.equals(big)).toBe(true);
  });

  it("passes the upstream's close code to the client, and the client's close to the upstream", async () => {
    const { ws } = await connect("/ws/a");
    const done = closed(ws);
    ws.send("close:4001");
    expect(await done).toEqual({ code: 4001, reason: "bye" });

    const before = echo.clients.size;
    const { ws: ws2 } = await connect("/ws/b");
    await until(() => echo.clients.size === before + 1);
    const [server] = [...echo.clients].slice(-1);
    const serverSaw = closed(server!);
    ws2.close(4002, "client leaves");
    expect(await serverSaw).toEqual({ code: 4002, reason: "client leaves" });
    await until(async () => (await metricValue(gw, 'rg_websocket_tunnels{route="ws"}')) === 0);
  });

  it("counts open tunnels and why they closed in the metrics", async () => {
    // After a close handshake the server closes the connection, whoever began it.
    const closedBy = async () =>
      (await metricValue(gw, 'rg_websocket_tunnels_closed_total{route="ws",by="client"}')) +
      (await metricValue(gw, 'rg_websocket_tunnels_closed_total{route="ws",by="upstream"}'));
    const closedBefore = await closedBy();
    const a = await connect("/ws/1");
    await connect("/ws/2");
    expect(await metricValue(gw, 'rg_websocket_tunnels{route="ws"}')).toBe(2);
    // The live snapshot the dashboard reads counts them too.
    expect(gw.snapshot().websocketTunnels).toBe(2);
    expect(gw.snapshot().routes.ws?.websocketTunnels).toBe(2);
    a.ws.close();
    await until(async () => (await metricValue(gw, 'rg_websocket_tunnels{route="ws"}')) === 1);
    expect(await closedBy()).toBe(closedBefore + 1);
  });

  it("applies a changed idleTimeoutMs to tunnels already open", async () => {
    const [{ ws }, server] = await upstreamSide(() => connect("/ws/long-lived"));
    const c = closed(ws);
    const s = closed(server);
    const routes = base.routes as Record<string, Record<string, unknown>>;
    gw.applyConfig(
      loadConfig({
        ...base,
        routes: {
          ...routes,
          ws: { ...routes.ws, websocket: { enabled: true, idleTimeoutMs: 100 } },
        },
      }),
    );
    try {
      // Both sides get a Close frame, not a bare TCP close (1006).
      expect(await c).toEqual({ code: 1001, reason: "idle timeout" });
      expect(await s).toEqual({ code: 1001, reason: "idle timeout" });
      await until(
        async () =>
          (await metricValue(gw, 'rg_websocket_tunnels_closed_total{route="ws",by="idle"}')) === 1,
      );
    } finally {
      gw.applyConfig(loadConfig(base));
    }
  });

  it("closes a tunnel that carries nothing for idleTimeoutMs", async () => {
    const [{ ws }, server] = await upstreamSide(() => connect("/idle/x"));
    const s = closed(server);
    ws.send("ping");
    await nextMessage(ws);
    expect(await closed(ws)).toEqual({ code: 1001, reason: "idle timeout" });
    expect(await s).toEqual({ code: 1001, reason: "idle timeout" });
    await until(
      async () =>
        (await metricValue(gw, 'rg_websocket_tunnels_closed_total{route="idle",by="idle"}')) === 1,
    );
  });

  it("outlives the request, headers, keep-alive and send timeouts and the handshake's deadline", async () => {
    // Every timer that bounds a request is 100 ms here; a tunnel is bounded only by its idle
    // timeout and its two ends.
    const g = await gatewayFor({
      ...base,
      gateway: {
        limits: {
          headersTimeoutMs: 100,
          requestTimeoutMs: 100,
          keepAliveTimeoutMs: 100,
          sendTimeoutMs: 100,
        },
      },
      routes: {
        ws: {
          match: { pathPrefix: "/ws" },
          ...wsRoute({ timeouts: { connectMs: 100, perTryMs: 100, totalMs: 100 } }),
        },
      },
    });
    try {
      const { ws } = await open(`ws://127.0.0.1:${g.port}/ws/long`);
      sockets.push(ws);
      // Controls opened after the tunnel: a request whose headers never end, cut with a 408,
      // and an idle keep-alive connection, closed. Once both are gone, the silent tunnel has
      // been open longer than every one of those timers.
      const stalled = new Wire(g.port);
      stalled.send(`GET /ws/x HTTP/1.1\r\n${H}X-Slow: `);
      const idle = new Wire(g.port);
      idle.send(`GET /ws/plain HTTP/1.1\r\n${H}\r\n`);
      expect(await stalled.waitFor(() => stalled.closed)).toBe(true);
      expect(stalled.text).toMatch(/^HTTP\/1\.1 408 /);
      expect(await idle.waitFor(() => idle.closed)).toBe(true);
      expect(idle.text).toMatch(/^HTTP\/1\.1 426 /);
      expect(ws.readyState).toBe(WebSocket.OPEN);
      ws.send("still here");
      // A tunnel cut in the same sweep as a control would never answer: say so, not time out.
      const answer = await Promise.race([
        nextMessage(ws).then((m) => m.data.toString()),
        closed(ws).then((c) => `closed with ${c.code}`),
      ]);
      expect(answer).toBe("still here");
      expect(g.snapshot().websocketTunnels).toBe(1);
    } finally {
      await g.close();
    }
  });
});

describe("the handshake through the pipeline", () => {
  it("is refused with a problem on a route without websocket.enabled, and never reaches the upstream", async () => {
    const seen = echo.handshakes.length;
    const r = await refused(`ws://127.0.0.1:${gw.port}/plain/x`);
    expect(r.status).toBe(403);
    expect(r.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const p = JSON.parse(r.body) as Record<string, unknown>;
    expect(p).toMatchObject({ code: "RG_UPGRADE_NOT_ALLOWED", status: 403 });
    expect(String(p.detail)).toContain("routes.plain.websocket.enabled");
    expect(echo.handshakes.length).toBe(seen);
  });

  it("refuses other upgrades, non-GET handshakes and handshakes with a body", async () => {
    const seen = echo.handshakes.length;
    for (const [head, status, code] of [
      [
        `GET /ws HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`,
        403,
        "RG_UPGRADE_NOT_ALLOWED",
      ],
      [
        `POST /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n`,
        400,
        "RG_BAD_REQUEST",
      ],
      [
        `GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 5\r\n\r\nhello`,
        400,
        "RG_BAD_REQUEST",
      ],
      [
        `GET /ws/../admin HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
        400,
        "RG_BAD_REQUEST",
      ],
      [
        `GET /nowhere HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
        404,
        "RG_ROUTE_NOT_FOUND",
      ],
    ] as const) {
      const w = new Wire(gw.port);
      w.send(head);
      expect(await w.waitFor(() => w.closed)).toBe(true);
      const r = parseResponses(w.text, [], true).finals[0];
      expect(expectProblem(r, status).code, head.split("\r\n")[0]).toBe(code);
      expect(r!.headers.connection).toBe("close");
    }
    expect(echo.handshakes.length).toBe(seen);
  });

  it("passes an upstream's refusal on, with its body", async () => {
    echo.script = [
      { status: 401, body: "who are you?", headers: { "WWW-Authenticate": "Bearer" } },
    ];
    const r = await refused(`ws://127.0.0.1:${gw.port}/ws/private`);
    expect(r.status).toBe(401);
    expect(r.body).toBe("who are you?");
    expect(r.headers["www-authenticate"]).toBe("Bearer");
    expect(r.headers["x-request-id"]).toBeDefined();
  });

  it("answers 502 to a refusal whose body stalls past the per-try timeout, freeing the route's slots", async () => {
    // maxConnections 2 on this route: three stalled refusals in a row would hold the slots.
    for (let i = 0; i < 3; i++) {
      echo.script = [{ status: 403, body: "no", stall: true }];
      const r = await refused(`ws://127.0.0.1:${gw.port}/capped/stall-${i}`);
      expect(r.status).toBe(502);
      expect(JSON.parse(r.body)).toMatchObject({ code: "RG_BAD_UPSTREAM_RESPONSE" });
    }
    // The upstream's connections were cut, and the route still takes its two tunnels.
    await until(() => echo.held.size === 0);
    await connect("/capped/after-1");
    await connect("/capped/after-2");
  });

  it("forwards the bytes a client sent right behind its handshake once the tunnel is open", async () => {
    const w = new Wire(gw.port);
    // A masked text frame "hi" in the same write as the handshake.
    const frame = Buffer.from([
      0x81,
      0x82,
      1,
      2,
      3,
      4,
      "h".charCodeAt(0) ^ 1,
      "i".charCodeAt(0) ^ 2,
    ]);
    w.send(
      `GET /ws/early HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n` +
        frame.toString("latin1"),
    );
    // The echo's unmasked answer follows the 101.
    expect(await w.waitFor(() => w.text.includes("\r\n\r\n\x81\x02hi"))).toBe(true);
    expect(w.text).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(w.text).toContain("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    w.destroy();
  });

  it("holds a large early message while the upstream has not answered, and delivers it whole", async () => {
    // One masked binary frame of 200 KB, sent with the handshake, before any 101.
    const payload = Buffer.alloc(200 * 1024, 120);
    const mask = Buffer.from([9, 8, 7, 6]);
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(BigInt(payload.length));
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
    const frame = Buffer.concat([Buffer.from([0x82, 0xff]), len, mask, masked]);
    echo.script = ["held"];
    const seen = echo.handshakes.length;
    const w = new Wire(gw.port);
    w.send(
      `GET /ws/big-early HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n` +
        frame.toString("latin1"),
    );
    await until(() => echo.handshakes.length === seen + 1);
    echo.release();
    // The 101, then the echo: an unmasked frame of the same 200 KB.
    expect(await w.waitFor(() => w.text.length >= payload.length + 10)).toBe(true);
    const body = w.text.slice(w.text.indexOf("\r\n\r\n") + 4);
    expect(body.charCodeAt(0)).toBe(0x82);
    expect(body.length).toBe(payload.length + 10);
    expect(body.slice(10)).toBe("x".repeat(payload.length));
    w.destroy();
  });

  it("answers a handshake pipelined behind a plain request only after that request's answer", async () => {
    const w = new Wire(gw.port);
    w.send(
      `GET /ws/slow HTTP/1.1\r\n${H}\r\n` +
        `GET /ws/behind HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    expect(await w.waitFor(() => w.text.includes("Sec-WebSocket-Accept"))).toBe(true);
    expect(w.text).toMatch(/^HTTP\/1\.1 426 /);
    const answered = w.text.indexOf("upgrade required");
    expect(answered).toBeGreaterThan(0);
    expect(w.text.indexOf("HTTP/1.1 101 Switching Protocols\r\n")).toBeGreaterThan(answered);
    w.destroy();
  });

  it("retries a handshake the upstream refused with a 503", async () => {
    echo.script = [{ status: 503, body: "busy" }];
    const seen = echo.handshakes.length;
    const { ws } = await connect("/ws/retried");
    expect(echo.handshakes.length).toBe(seen + 2);
    ws.send("after retry");
    expect((await nextMessage(ws)).data.toString()).toBe("after retry");
  });

  it("answers 504 when the upstream does not answer the handshake within the per-try timeout", async () => {
    echo.script = ["hang", "hang"];
    const started = Date.now();
    const r = await refused(`ws://127.0.0.1:${gw.port}/ws/slow`);
    expect(r.status).toBe(504);
    expect(JSON.parse(r.body)).toMatchObject({ code: "RG_UPSTREAM_TIMEOUT" });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("rate-limits handshakes with RateLimit headers", async () => {
    await connect("/limited/a");
    const r = await refused(`ws://127.0.0.1:${gw.port}/limited/b`);
    expect(r.status).toBe(429);
    expect(JSON.parse(r.body)).toMatchObject({ code: "RG_RATE_LIMITED" });
    expect(r.headers["retry-after"]).toBeDefined();
    expect(r.headers.ratelimit).toBeDefined();
    // On the wire: each field once (the rate limit's Retry-After is the problem's too).
    const w = new Wire(gw.port);
    w.send(
      `GET /limited/c HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    expect(await w.waitFor(() => w.closed)).toBe(true);
    const head = w.text.slice(0, w.text.indexOf("\r\n\r\n"));
    expect(head).toMatch(/^HTTP\/1\.1 429 /);
    expect(head.match(/^retry-after:/gim)).toHaveLength(1);
    expect(head.match(/^ratelimit:/gim)).toHaveLength(1);
  });

  it("caps open tunnels per route with websocket.maxConnections", async () => {
    const a = await connect("/capped/1");
    await connect("/capped/2");
    const r = await refused(`ws://127.0.0.1:${gw.port}/capped/3`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toMatchObject({ code: "RG_BULKHEAD_FULL" });
    expect(r.headers["retry-after"]).toBe("1");
    a.ws.close();
    await until(async () => (await metricValue(gw, 'rg_websocket_tunnels{route="capped"}')) === 1);
    await connect("/capped/4");
  });

  it("caps one client's tunnels on a route with websocket.maxConnectionsPerClient", async () => {
    const as = (key: string) => ({ headers: { "x-api-key": key } });
    const held = () => gw.snapshot().routes.perclient?.websocketTunnels ?? 0;
    // A refused handshake gives its client's slot back.
    echo.script = [{ status: 403 }, { status: 403 }];
    expect((await refused(`ws://127.0.0.1:${gw.port}/perclient/x`, as("alice"))).status).toBe(403);
    expect((await refused(`ws://127.0.0.1:${gw.port}/perclient/x`, as("alice"))).status).toBe(403);
    const first = await connect("/perclient/1", as("alice"));
    await connect("/perclient/2", as("alice"));
    const r = await refused(`ws://127.0.0.1:${gw.port}/perclient/3`, as("alice"));
    expect(r.status).toBe(429);
    expect(r.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(r.headers["retry-after"]).toBe("5");
    expect(JSON.parse(r.body)).toMatchObject({
      code: "RG_RATE_LIMITED",
      detail: expect.stringContaining("websocket.maxConnectionsPerClient 2"),
    });
    // Other clients, by key or by address, have their own slots; the route's cap is not reached.
    await connect("/perclient/4", as("bob"));
    await connect("/perclient/5", as("bob"));
    await connect("/perclient/6");
    expect(held()).toBe(5);
    // A tunnel that ends frees its client's slot.
    first.ws.close();
    await until(() => held() === 4);
    await connect("/perclient/7", as("alice"));
    expect((await refused(`ws://127.0.0.1:${gw.port}/perclient/8`, as("alice"))).status).toBe(429);
  });
});

describe("slots", () => {
  it("closes every upstream connection when 200 clients reset their tunnels at once", async () => {
    const before = new Set(echo.clients);
    const ours = () => [...echo.clients].filter((c) => !before.has(c)).length;
    const tunnelsBefore = gw.snapshot().websocketTunnels!;
    const opened = await Promise.all(
      Array.from({ length: 200 }, () => open(`ws://127.0.0.1:${gw.port}/ws/many`)),
    );
    await until(() => ours() === 200);
    expect(gw.snapshot().websocketTunnels).toBeGreaterThanOrEqual(200);
    for (const { ws } of opened) ws.terminate();
    await until(() => ours() === 0 && gw.snapshot().websocketTunnels! <= tunnelsBefore);
  });

  it("frees a route's tunnel slots however its tunnels and handshakes end", async () => {
    const max = 6;
    const g = await gatewayFor({
      upstreams: { echo: upstreamConfig(echo.url) },
      routes: {
        ws: {
          match: { pathPrefix: "/" },
          ...wsRoute({
            timeouts: { connectMs: 500, perTryMs: 300, totalMs: 1000 },
            retry: { maxAttempts: 1 },
            websocket: { enabled: true, maxConnections: max },
          }),
        },
      },
    });
    const url = `ws://127.0.0.1:${g.port}/churn`;
    const tunnels = () => g.snapshot().websocketTunnels;
    try {
      for (let round = 0; round < 3; round++) {
        // Client closes, client resets, upstream closes, upstream resets.
        const ends: Promise<unknown>[] = [];
        for (const how of ["close", "terminate", "server-close", "server-terminate"] as const) {
          const [{ ws }, server] = await upstreamSide(() => open(url));
          ends.push(closed(ws));
          if (how === "close") ws.close();
          else if (how === "terminate") ws.terminate();
          else if (how === "server-close") server.close(1000);
          else server.terminate();
        }
        await Promise.all(ends);
        // A refused handshake, a timed-out one, and one whose client leaves half-way.
        echo.script = [{ status: 403 }, "hang", "hang"];
        expect((await refused(url)).status).toBe(403);
        expect((await refused(url)).status).toBe(504);
        const seen = echo.handshakes.length;
        const w = new Wire(g.port);
        w.send(
          `GET /churn HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
        );
        await until(() => echo.handshakes.length === seen + 1);
        w.destroy();
        // The gateway gives the handshake up at once (not at its timeout), closing the
        // upstream connection it was made on.
        await until(() => echo.held.size === 0, 250);
        await until(() => tunnels() === 0);
      }
      // Every slot is free again: the route takes `max` tunnels, and refuses one more.
      const full: WebSocket[] = [];
      for (let i = 0; i < max; i++) full.push((await open(url)).ws);
      expect(tunnels()).toBe(max);
      expect((await refused(url)).status).toBe(503);
      for (const ws of full) ws.terminate();
      await until(() => tunnels() === 0);
    } finally {
      await g.close();
    }
  });
});

describe("failing upstreams, modes and shutdown", () => {
  it("ejects an endpoint whose upstream resets its tunnels, and logs each reset at warn", async () => {
    const good = await startEcho();
    const { logger, lines: logs } = capturedLogs("warn");
    const g = await gatewayFor(
      {
        upstreams: {
          pair: {
            endpoints: { bad: { url: echo.url }, good: { url: good.url } },
            outlierDetection: { consecutive5xx: 2, baseEjectionMs: 60_000 },
          },
        },
        routes: { ws: { match: { pathPrefix: "/" }, ...wsRoute({ upstream: "pair" }) } },
      },
      { logger },
    );
    const url = `ws://127.0.0.1:${g.port}/resets`;
    const bad = () => g.runtime.snapshot().upstreams.pair!.endpoints.find((e) => e.id === "bad")!;
    try {
      // Tunnels land on either endpoint. Each one `bad` takes works (it echoes), then its
      // upstream resets the connection; `good` closes its own cleanly. Each 101 from `bad` is
      // a success of its own, so only the tunnels' ends can make its failures consecutive.
      let resets = 0;
      const codes: { code: number; reason: string }[] = [];
      for (let i = 0; i < 60 && !bad().ejected; i++) {
        const before = new Set(echo.clients);
        const { ws } = await open(url);
        const end = closed(ws);
        ws.send("ping");
        expect((await nextMessage(ws)).data.toString()).toBe("ping");
        const server = [...echo.clients].find((c) => !before.has(c));
        if (server) {
          (server as unknown as { _socket: net.Socket })._socket.resetAndDestroy();
          resets++;
          codes.push(await end);
        } else {
          ws.close();
          await end;
        }
        await until(() => g.snapshot().websocketTunnels === 0);
      }
      expect(bad().ejected).toBe(true);
      expect(resets).toBe(2);
      // The client is told that the upstream failed (1014 Bad Gateway), not left with a 1006.
      expect(codes).toEqual([
        { code: 1014, reason: "upstream connection failed" },
        { code: 1014, reason: "upstream connection failed" },
      ]);
      expect(
        await metricValue(g, 'rg_websocket_tunnels_closed_total{route="ws",by="upstream_error"}'),
      ).toBe(2);
      const warned = logs.filter((l) => l.msg === "websocket tunnel failed upstream");
      expect(warned).toHaveLength(2);
      expect(warned[0]).toMatchObject({
        level: 40,
        route: "ws",
        upstream: "pair",
        endpoint: "bad",
        by: "upstream_error",
        err: "ECONNRESET",
      });
      expect(typeof warned[0]!.requestId).toBe("string");
      // Ejected, `bad` gets no more tunnels.
      const seen = echo.handshakes.length;
      for (let i = 0; i < 5; i++) (await open(url)).ws.close();
      expect(echo.handshakes.length).toBe(seen);
      await until(() => g.snapshot().websocketTunnels === 0);
    } finally {
      await g.close();
      await good.close();
    }
  });

  /** A gateway on the echo upstream whose breaker opens on 2 failures in a row. */
  async function breakerGateway(healthyAfterMs: number, openDurationMs = 30_000) {
    const g = await gatewayFor({
      upstreams: {
        echo: upstreamConfig(echo.url, {
          circuitBreaker: {
            enabled: true,
            consecutiveFailures: 2,
            minimumCalls: 100,
            openDurationMs,
            halfOpenMaxProbes: 1,
            halfOpenSuccessesToClose: 1,
          },
        }),
      },
      routes: {
        ws: {
          match: { pathPrefix: "/" },
          ...wsRoute({ retry: { maxAttempts: 1 }, websocket: { enabled: true, healthyAfterMs } }),
        },
      },
    });
    const breaker = () => g.runtime.snapshot().upstreams.echo!.breakers[0]!;
    /** Open a tunnel, then have its upstream reset it; resolves with the client's close. */
    const openAndReset = async () => {
      const [{ ws }, server] = await upstreamSide(() => open(`ws://127.0.0.1:${g.port}/x`));
      const end = closed(ws);
      (server as unknown as { _socket: net.Socket })._socket.resetAndDestroy();
      const code = await end;
      await until(() => g.snapshot().websocketTunnels === 0);
      return code;
    };
    return { g, breaker, openAndReset };
  }

  it("opens the breaker when its upstream resets tunnels sooner than healthyAfterMs", async () => {
    const { g, breaker, openAndReset } = await breakerGateway(60_000, 1000);
    const url = `ws://127.0.0.1:${g.port}/x`;
    try {
      // A client whose socket fails says nothing of the upstream: its handshake counts as nothing.
      const { ws: leaving } = await open(url);
      (leaving as unknown as { _socket: net.Socket })._socket.resetAndDestroy();
      await until(() => g.snapshot().websocketTunnels === 0);
      expect(breaker().window.calls).toBe(0);
      // Each handshake is a 101; the reset right after it is what the breaker counts.
      expect(await openAndReset()).toMatchObject({ code: 1014 });
      expect(breaker()).toMatchObject({ state: "closed", window: { calls: 1, failures: 1 } });
      await openAndReset();
      expect(breaker()).toMatchObject({
        state: "open",
        reason: { trigger: "consecutive_failures" },
      });
      const seen = echo.handshakes.length;
      const r = await refused(url);
      expect(r.status).toBe(503);
      expect((JSON.parse(r.body) as { code: string }).code).toBe("RG_BREAKER_OPEN");
      expect(echo.handshakes.length).toBe(seen);

      // Half-open: one probe gets through and keeps its slot while its tunnel is young.
      let probe: WebSocket | undefined;
      let probeServer: WebSocket | undefined;
      await until(async () => {
        try {
          [{ ws: probe }, probeServer] = await upstreamSide(() => open(url));
          return true;
        } catch {
          return false;
        }
      });
      expect(breaker()).toMatchObject({ state: "half_open", halfOpen: { inFlight: 1 } });
      expect((await refused(url)).status).toBe(503);
      // The probe's upstream resets it: the breaker opens again.
      const end = closed(probe!);
      (probeServer as unknown as { _socket: net.Socket })._socket.resetAndDestroy();
      await end;
      await until(() => breaker().state === "open");
      expect(breaker().reason).toMatchObject({ trigger: "probe_failed" });

      // A probe whose tunnel either side closes cleanly closes the breaker.
      await until(async () => {
        try {
          [{ ws: probe }] = await upstreamSide(() => open(url));
          return true;
        } catch {
          return false;
        }
      });
      const clean = closed(probe!);
      probe!.close(1000, "done");
      await clean;
      await until(() => breaker().state === "closed");
    } finally {
      await g.close();
    }
  });

  it("refuses a 101 that does not answer the handshake's key or switches to another protocol, as the upstream's failure", async () => {
    let n = 0;
    const bad = net.createServer((s) => {
      s.on("error", () => {});
      s.once("data", () => {
        const upgrade =
          n++ % 2 === 0
            ? "Upgrade: websocket\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"
            : "Upgrade: h2c\r\n";
        s.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n${upgrade}\r\n`);
      });
    });
    await new Promise<void>((r) => bad.listen(0, "127.0.0.1", r));
    const g = await gatewayFor({
      upstreams: {
        bad: upstreamConfig(`http://127.0.0.1:${(bad.address() as AddressInfo).port}`, {
          circuitBreaker: { enabled: true, consecutiveFailures: 2, minimumCalls: 100 },
          outlierDetection: { enabled: false },
        }),
      },
      routes: {
        bad: {
          match: { pathPrefix: "/bad" },
          ...wsRoute({ upstream: "bad", retry: { maxAttempts: 1 } }),
        },
      },
    });
    try {
      for (let i = 0; i < 2; i++) {
        const r = await refused(`ws://127.0.0.1:${g.port}/bad/${i}`);
        expect(r.status).toBe(502);
        expect(JSON.parse(r.body)).toMatchObject({ code: "RG_UPSTREAM_UNAVAILABLE" });
      }
      expect(g.runtime.snapshot().upstreams.bad!.breakers[0]!.state).toBe("open");
      const open3 = await refused(`ws://127.0.0.1:${g.port}/bad/3`);
      expect(JSON.parse(open3.body)).toMatchObject({ code: "RG_BREAKER_OPEN" });
      expect(n).toBe(2);
    } finally {
      await g.close();
      await new Promise<void>((r) => bad.close(() => r()));
    }
  });

  it("tells the client 1014 and counts a failure when the upstream drops a tunnel without a Close frame", async () => {
    const { g, breaker } = await breakerGateway(60_000);
    try {
      const [{ ws }, server] = await upstreamSide(() => open(`ws://127.0.0.1:${g.port}/x`));
      const end = closed(ws);
      // A FIN and no Close frame: what the upstream's process dying leaves behind.
      (server as unknown as { _socket: net.Socket })._socket.end();
      expect(await end).toEqual({ code: 1014, reason: "upstream closed without a Close frame" });
      await until(() => g.snapshot().websocketTunnels === 0);
      expect(breaker().window).toMatchObject({ calls: 1, failures: 1 });
      expect(
        await metricValue(g, 'rg_websocket_tunnels_closed_total{route="ws",by="upstream_error"}'),
      ).toBe(1);
      // An upstream that closes properly is no failure.
      const [{ ws: next }, nextServer] = await upstreamSide(() =>
        open(`ws://127.0.0.1:${g.port}/x`),
      );
      const clean = closed(next);
      nextServer.close(1001, "restarting");
      expect(await clean).toEqual({ code: 1001, reason: "restarting" });
      await until(() => breaker().window.calls === 2);
      expect(breaker().window.failures).toBe(1);
    } finally {
      await g.close();
    }
  });

  it("counts a tunnel's handshake as a success once it has lasted healthyAfterMs", async () => {
    const { g, breaker } = await breakerGateway(100);
    try {
      for (let i = 0; i < 3; i++) {
        const [{ ws }, server] = await upstreamSide(() => open(`ws://127.0.0.1:${g.port}/x`));
        await until(() => breaker().window.calls === i + 1);
        const end = closed(ws);
        (server as unknown as { _socket: net.Socket })._socket.resetAndDestroy();
        expect(await end).toMatchObject({ code: 1014 });
        await until(() => g.snapshot().websocketTunnels === 0);
      }
      // Three resets after the tunnels proved healthy: no failure on the breaker, which stays
      // closed; outlier detection still counted each one against the endpoint.
      expect(breaker()).toMatchObject({ state: "closed", window: { calls: 3, failures: 0 } });
      expect(
        await metricValue(g, 'rg_websocket_tunnels_closed_total{route="ws",by="upstream_error"}'),
      ).toBe(3);
    } finally {
      await g.close();
    }
  });

  it("opens the breaker on failed handshakes and answers breaker-open with Retry-After", async () => {
    const port = await closedPort();
    const g = await gatewayFor({
      upstreams: {
        gone: upstreamConfig(`http://127.0.0.1:${port}`, {
          circuitBreaker: {
            enabled: true,
            consecutiveFailures: 2,
            minimumCalls: 100,
            openDurationMs: 30_000,
          },
        }),
      },
      routes: {
        ws: {
          match: { pathPrefix: "/" },
          ...wsRoute({ upstream: "gone", retry: { maxAttempts: 1 } }),
        },
      },
    });
    try {
      const codes: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await refused(`ws://127.0.0.1:${g.port}/x`);
        codes.push(String((JSON.parse(r.body) as { code: string }).code));
        if (i === 2) expect(Number(r.headers["retry-after"])).toBeGreaterThan(20);
      }
      expect(codes).toEqual([
        "RG_UPSTREAM_UNAVAILABLE",
        "RG_UPSTREAM_UNAVAILABLE",
        "RG_BREAKER_OPEN",
      ]);
    } finally {
      await g.close();
    }
  });

  it("read-only mode closes open tunnels and refuses new ones; normal mode lets them in again", async () => {
    const byConfig = () =>
      metricValue(gw, 'rg_websocket_tunnels_closed_total{route="ws",by="config"}');
    // Only this test's tunnel is open when the mode changes.
    await until(async () => (await metricValue(gw, 'rg_websocket_tunnels{route="ws"}')) === 0);
    const before = await byConfig();
    const [{ ws }, server] = await upstreamSide(() => connect("/ws/ro"));
    const c = closed(ws);
    const s = closed(server);
    const cfg = loadConfig({ ...base, gateway: { mode: "read_only" } });
    gw.applyConfig(cfg);
    try {
      // 1013 Try Again Later: the mode is temporary.
      expect(await c).toEqual({ code: 1013, reason: "read-only mode" });
      expect(await s).toEqual({ code: 1013, reason: "read-only mode" });
      const r = await refused(`ws://127.0.0.1:${gw.port}/ws/ro2`);
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body)).toMatchObject({ code: "RG_READ_ONLY" });
      expect(r.headers["retry-after"]).toBeDefined();
      // Plain reads still pass in read-only mode.
      expect((await request(`${gw.url}/plain/x`)).status).toBe(426);
      await until(async () => (await byConfig()) === before + 1);
    } finally {
      gw.applyConfig(loadConfig(base));
    }
    await connect("/ws/ro3");
  });

  it.each([
    [
      "read-only mode",
      (b: ConfigInput): ConfigInput => ({ ...b, gateway: { ...b.gateway, mode: "read_only" } }),
      "RG_READ_ONLY",
    ],
    [
      "websocket.enabled false",
      (b: ConfigInput): ConfigInput => ({
        ...b,
        routes: { ...b.routes, ws: { ...b.routes!.ws!, websocket: { enabled: false } } },
      }),
      "RG_UPGRADE_NOT_ALLOWED",
    ],
    [
      "the route's removal",
      (b: ConfigInput): ConfigInput => {
        const { ws: _gone, ...routes } = b.routes!;
        return { ...b, routes };
      },
      "RG_ROUTE_NOT_FOUND",
    ],
  ])(
    "refuses a handshake in progress when %s is applied before the upstream accepts it",
    async (_what, change, code) => {
      const g = await gatewayFor(base);
      try {
        echo.script = ["held"];
        const seen = echo.handshakes.length;
        const answer = refused(`ws://127.0.0.1:${g.port}/ws/inflight`);
        await until(() => echo.handshakes.length === seen + 1);
        g.applyConfig(loadConfig(change(base)));
        echo.release();
        const r = await answer;
        expect(JSON.parse(r.body)).toMatchObject({ code });
        expect(g.snapshot().routes.ws?.websocketTunnels ?? 0).toBe(0);
      } finally {
        await g.close();
      }
    },
  );

  it("puts its Close frame after the frame in progress, never inside it", async () => {
    const g = await gatewayFor(base);
    try {
      const [w, server] = await rawTunnel(g.port, "/ws/raw");
      const got: string[] = [];
      server.on("message", (d: Buffer) => got.push(d.toString()));
      const s = closed(server);
      // Its header and 4 bytes of its payload now.
      const bytes = TEN_BYTE_FRAME;
      w.send(bytes.subarray(0, 10).toString("latin1"));
      await until(() => echo.bytesIn.get(server)!() === 10);
      const head = w.text.length;
      g.applyConfig(loadConfig({ ...base, gateway: { mode: "read_only" } }));
      // Towards the client the tunnel is between frames: its Close goes at once, and the
      // connection ends after it.
      const reason = "read-only mode";
      const close = Buffer.concat([
        Buffer.from([0x88, 2 + reason.length, 1013 >> 8, 1013 & 0xff]),
        Buffer.from(reason),
      ]).toString("latin1");
      expect(await w.waitFor(() => w.text.length >= head + close.length)).toBe(true);
      expect(w.text.slice(head)).toBe(close);
      // Towards the upstream it waits for the rest of the frame.
      w.send(bytes.subarray(10).toString("latin1"));
      expect(await s).toEqual({ code: 1013, reason });
      expect(got).toEqual(["0123456789"]);
      expect(await w.waitFor(() => w.closed)).toBe(true);
      expect(w.text.slice(head)).toBe(close);
    } finally {
      await g.close();
    }
  });

  it("at shutdown, resolves close() only once a frame in progress and its Close have gone upstream", async () => {
    const g = await gatewayFor(base);
    const [w, server] = await rawTunnel(g.port, "/ws/raw-stop");
    // What happened, in order: the upstream's message, and close() resolving.
    const order: string[] = [];
    server.on("message", (d: Buffer) => order.push(`message ${d.toString()}`));
    const s = closed(server);
    const bytes = TEN_BYTE_FRAME;
    w.send(bytes.subarray(0, 10).toString("latin1"));
    await until(() => echo.bytesIn.get(server)!() === 10);
    const closing = g.close().then(() => order.push("stopped"));
    // Towards the client the Close goes at once; towards the upstream it waits on the frame.
    const reason = "gateway shutting down";
    expect(await w.waitFor(() => w.text.endsWith(reason))).toBe(true);
    w.send(bytes.subarray(10).toString("latin1"));
    await closing;
    // A gateway process exits when close() resolves: by then the frame and the Close are out.
    expect(order).toEqual(["message 0123456789", "stopped"]);
    expect(await s).toEqual({ code: 1001, reason });
    w.destroy();
  });

  it("never sends a client's early bytes upstream when the handshake is refused", async () => {
    // A raw upstream that refuses the handshake and keeps the connection (a pooled socket).
    const received: string[] = [];
    const raw = net.createServer((s) => {
      s.setNoDelay(true);
      s.on("data", (c: Buffer) => {
        received.push(c.toString("latin1"));
        if (received.length === 1)
          s.write(
            "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nno",
          );
      });
    });
    await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
    const g = await gatewayFor({
      upstreams: { raw: upstreamConfig(`http://127.0.0.1:${(raw.address() as AddressInfo).port}`) },
      routes: { ws: { match: { pathPrefix: "/" }, ...wsRoute({ upstream: "raw" }) } },
    });
    try {
      const w = new Wire(g.port);
      w.send(
        `GET /x HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n` +
          `GET /smuggled HTTP/1.1\r\n${H}\r\n`,
      );
      expect(await w.waitFor(() => w.closed)).toBe(true);
      const r = parseResponses(w.text, [], true).finals[0];
      expect(r?.status).toBe(403);
      expect(r?.body).toBe("no");
      // One more request on the pooled socket shows what else reached the upstream.
      expect(received.join("")).not.toContain("/smuggled");
      expect(received).toHaveLength(1);
    } finally {
      await g.close();
      await new Promise<void>((r) => raw.close(() => r()));
    }
  });

  it("lets a handshake in progress finish during the drain, then closes its tunnel", async () => {
    const g = await gatewayFor(base);
    echo.script = ["held"];
    const seen = echo.handshakes.length;
    const opening = open(`ws://127.0.0.1:${g.port}/ws/late`);
    await until(() => echo.handshakes.length === seen + 1);
    const closing = g.close();
    // Draining: the handshake is still answered once the upstream accepts it.
    echo.release();
    const { ws } = await opening;
    expect(await closed(ws)).toEqual({ code: 1001, reason: "gateway shutting down" });
    await closing;
    // Answered on the upstream connection it began on, not retried after the pools closed.
    expect(echo.handshakes.length).toBe(seen + 1);
  });

  it("refuses a handshake that arrives on a busy connection while the gateway drains", async () => {
    const g = await gatewayFor(base);
    const w = new Wire(g.port);
    w.send(`GET /ws/stream HTTP/1.1\r\n${H}\r\n`);
    // The answer's head went out before the drain, saying keep-alive.
    expect(await w.waitFor(() => w.text.includes("first"))).toBe(true);
    expect(w.text).toMatch(/connection: keep-alive/i);
    const closing = g.close();
    w.send(
      `GET /ws/late HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    const seen = echo.handshakes.length;
    echo.streams.shift()!();
    expect(await w.waitFor(() => w.closed)).toBe(true);
    const r = parseResponses(w.text, [], true);
    expect(r.finals.map((f) => f.status)).toEqual([200, 503]);
    expect(r.finals[0]!.body).toBe("first-last");
    expect(expectProblem(r.finals[1], 503).code).toBe("RG_SHUTTING_DOWN");
    expect(r.finals[1]!.headers["retry-after"]).toBe("1");
    expect(echo.handshakes.length).toBe(seen);
    await closing;
  });

  it("closes open tunnels at shutdown with 1001 Going Away to both sides", async () => {
    const g = await gatewayFor(base);
    const [{ ws }, server] = await upstreamSide(() => open(`ws://127.0.0.1:${g.port}/ws/s`));
    const c = closed(ws);
    const s = closed(server);
    const started = Date.now();
    await g.close();
    expect(await c).toEqual({ code: 1001, reason: "gateway shutting down" });
    expect(await s).toEqual({ code: 1001, reason: "gateway shutting down" });
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
