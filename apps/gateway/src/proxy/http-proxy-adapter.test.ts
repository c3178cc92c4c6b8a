/**
 * The adapter against real servers on port 0: the endpoint agent's own socket hand-out, the
 * idle sweep, and the two ways an answer reaches the client (whole, or streamed).
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import net, { type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { LiteAbortController, systemClock } from "@rg/core";
import { request } from "../../test/harness";
import { stripHopByHop } from "../request/headers";
import {
  HttpProxyAdapter,
  POOL_IDLE_MS,
  type StreamLimits,
  type UpstreamResponse,
} from "./http-proxy-adapter";

interface Upstream {
  url: string;
  connections: number;
  open: Set<Socket>;
  server: Server;
}

const servers: Server[] = [];
const adapters: HttpProxyAdapter[] = [];

afterEach(async () => {
  for (const a of adapters.splice(0)) a.close();
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections();
          s.close(() => r());
        }),
    ),
  );
});

function listen(server: Server): Promise<number> {
  servers.push(server);
  return new Promise((r) =>
    server.listen(0, "127.0.0.1", () => r((server.address() as AddressInfo).port)),
  );
}

async function upstream(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 30_000;
  const up: Upstream = { url: "", connections: 0, open: new Set(), server };
  server.on("connection", (s: Socket) => {
    up.connections++;
    up.open.add(s);
    s.on("close", () => up.open.delete(s));
  });
  up.url = `http://127.0.0.1:${await listen(server)}`;
  return up;
}

interface Sent {
  chunks: number;
  bytes: number;
  complete?: boolean;
}

/** A front server that proxies every request through the adapter to `target`. */
async function front(
  adapter: HttpProxyAdapter,
  target: string,
  sent: Sent[],
  upstreamId = "up",
  limits: StreamLimits = { upstreamIdleMs: 5000, clientStallMs: 5000 },
) {
  const server = http.createServer((req, res) => {
    // As the request path does: the client's Connection fields are not forwarded.
    stripHopByHop(req.headers);
    void adapter
      .attempt(
        req,
        res,
        upstreamId,
        { id: "a", url: target },
        {
          path: req.url ?? "/",
          body: undefined,
          signal: new LiteAbortController().signal,
          connectTimeoutMs: 1000,
          isFailureStatus: (s) => s >= 500,
          clientFault: undefined,
        },
      )
      .then(({ response }) => {
        const r = response as UpstreamResponse;
        const s: Sent = { chunks: 0, bytes: 0 };
        sent.push(s);
        r.send(
          res,
          ["x-request-id", "gw-1"],
          limits,
          (c) => {
            s.chunks++;
            s.bytes += c.length;
          },
          (end) => {
            s.complete = end.by === "whole";
          },
        );
      });
  });
  return `http://127.0.0.1:${await listen(server)}`;
}

function adapter(): HttpProxyAdapter {
  const a = new HttpProxyAdapter({ clock: systemClock });
  adapters.push(a);
  return a;
}

describe("HttpProxyAdapter", () => {
  it("opens no pool once closed: a late attempt fails instead", async () => {
    const up = await upstream((_req, res) => res.end("ok"));
    const a = adapter();
    a.close();
    expect(() =>
      a.upgrade(
        "up",
        { id: "a", url: up.url },
        {
          path: "/",
          headers: {},
          signal: new LiteAbortController().signal,
          connectTimeoutMs: 1000,
          isFailureStatus: () => false,
        },
      ),
    ).toThrow(/closed/);
    expect(a.socketCount()).toBe(0);
    expect(up.connections).toBe(0);
  });

  it("hands the same pooled socket to requests one after another", async () => {
    const up = await upstream((_req, res) => res.end("ok"));
    const a = adapter();
    const url = await front(a, up.url, []);
    for (let i = 0; i < 5; i++) expect((await request(`${url}/x`)).body).toBe("ok");
    expect(up.connections).toBe(1);
    expect(a.socketCount()).toBe(1);
  });

  it("skips a pooled socket the upstream has closed and opens a new one", async () => {
    const up = await upstream((_req, res) => res.end("ok"));
    const a = adapter();
    const url = await front(a, up.url, []);
    expect((await request(`${url}/x`)).status).toBe(200);
    // The upstream drops its idle keep-alive connection.
    const [sock] = [...up.open];
    const closed = new Promise((r) => sock!.once("close", r));
    sock!.destroy();
    await closed;
    await expect.poll(() => a.socketCount()).toBe(0);
    expect((await request(`${url}/y`)).body).toBe("ok");
    expect(up.connections).toBe(2);
  });

  it("closes sockets idle for the pool's idle time, and only those", async () => {
    const up = await upstream((_req, res) => res.end("ok"));
    const a = adapter();
    const url = await front(a, up.url, []);
    expect((await request(`${url}/x`)).status).toBe(200);
    a.closeIdle(Date.now() + POOL_IDLE_MS - 1000);
    expect(a.socketCount()).toBe(1);
    a.closeIdle(Date.now() + POOL_IDLE_MS);
    await expect.poll(() => up.open.size).toBe(0);
    expect(a.socketCount()).toBe(0);
    expect((await request(`${url}/x`)).body).toBe("ok");
  });

  it("writes a small answer whole, with the upstream's bytes and the gateway's fields", async () => {
    const body = JSON.stringify({ ok: true, text: "naïve ☃" });
    const up = await upstream((_req, res) => {
      res.writeHead(200, {
        "content-type": "application/json; charset=utf-8",
        "x-request-id": "from-upstream",
        "keep-alive": "timeout=30",
      });
      res.end(body);
    });
    const sent: Sent[] = [];
    const url = await front(adapter(), up.url, sent);
    const r = await request(`${url}/x`);
    expect(r.body).toBe(body);
    expect(r.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(r.headers["x-request-id"]).toBe("gw-1");
    expect(sent).toEqual([{ chunks: 1, bytes: Buffer.byteLength(body), complete: true }]);
  });

  it("streams an answer that is still arriving, chunk by chunk", async () => {
    const part = Buffer.alloc(64 * 1024, 97);
    const up = await upstream((_req, res) => {
      res.writeHead(200, { "content-length": String(part.length * 4) });
      let n = 0;
      const next = () => {
        if (n++ === 4) return;
        res.write(part, () => setImmediate(next));
        if (n === 4) res.end();
      };
      next();
    });
    const sent: Sent[] = [];
    const url = await front(adapter(), up.url, sent);
    const r = await request(`${url}/big`);
    expect(r.body.length).toBe(part.length * 4);
    expect(sent[0]!.complete).toBe(true);
    expect(sent[0]!.bytes).toBe(part.length * 4);
    expect(sent[0]!.chunks).toBeGreaterThan(1);
  });

  it("answers a bodiless 204 and a HEAD without waiting for a body", async () => {
    const up = await upstream((req, res) => {
      if (req.method === "HEAD") res.writeHead(200, { "content-length": "10" }).end();
      else res.writeHead(204).end();
    });
    const sent: Sent[] = [];
    const url = await front(adapter(), up.url, sent);
    expect((await request(`${url}/none`)).status).toBe(204);
    const head = (await request(`${url}/h`, { method: "HEAD" })).status;
    expect(head).toBe(200);
    expect(sent.map((s) => [s.chunks, s.complete])).toEqual([
      [0, true],
      [0, true],
    ]);
  });

  it("keeps a pool per upstream at a shared address, and retires one without the other", async () => {
    const held: ServerResponse[] = [];
    const up = await upstream((_req, res) => held.push(res));
    const a = adapter();
    a.ensureEndpoint("wide", up.url, 4);
    a.ensureEndpoint("narrow", up.url, 1);
    const wide = await front(a, up.url, [], "wide");
    const narrow = await front(a, up.url, [], "narrow");
    const answers = [
      request(`${wide}/1`),
      request(`${wide}/2`),
      request(`${narrow}/3`),
      request(`${narrow}/4`),
    ];
    // Both of wide's requests and one of narrow's are at the upstream; narrow's second waits
    // for its pool's only socket.
    await expect.poll(() => held.length).toBe(3);
    expect(up.connections).toBe(3);
    for (const r of held.splice(0)) r.end("ok");
    await expect.poll(() => held.length).toBe(1);
    for (const r of held.splice(0)) r.end("ok");
    expect((await Promise.all(answers)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(a.socketCount()).toBe(3);

    // narrow leaves the config: its socket closes, wide's two stay pooled and serve on.
    a.retainOnly(new Map([["wide", new Set([up.url])]]));
    await expect.poll(() => a.socketCount()).toBe(2);
    expect(up.open.size).toBe(2);
    const again = request(`${wide}/5`);
    await expect.poll(() => held.length).toBe(1);
    held.pop()!.end("ok");
    expect((await again).body).toBe("ok");
    expect(up.connections).toBe(3);
  });

  it("cuts a streamed answer its client stops reading, freeing the upstream socket", async () => {
    const chunk = Buffer.alloc(64 * 1024, 97);
    let upstreamClosed = false;
    const up = await upstream((_req, res) => {
      res.writeHead(200, { "content-length": String(chunk.length * 256) });
      res.on("close", () => (upstreamClosed = true));
      let n = 0;
      const pump = () => {
        while (n < 256) {
          n++;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    });
    const sent: Sent[] = [];
    const a = adapter();
    const url = await front(a, up.url, sent, "up", { upstreamIdleMs: 5000, clientStallMs: 300 });
    const client = net.connect(Number(new URL(url).port), "127.0.0.1");
    client.on("error", () => {});
    client.pause(); // asks, then never reads
    client.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    await expect.poll(() => upstreamClosed, { timeout: 5000 }).toBe(true);
    expect(sent[0]?.complete).toBe(false);
    await expect.poll(() => a.socketCount()).toBe(0);
    client.destroy();
  });
});
